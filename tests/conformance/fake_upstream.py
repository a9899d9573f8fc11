"""Run the validating fake Qovery upstream (tests/fakes/qovery.py) as a process of its own.

Run: python tests/conformance/fake_upstream.py TOKEN
Prints the base URL (``http://127.0.0.1:<port>``) on one line, then serves until killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakes.qovery import run_fake_qovery


async def main(token: str) -> None:
    async with run_fake_qovery(token=token) as fake:
        print(fake.base_url, flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
