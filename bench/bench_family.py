"""Memory of a family (issue #21): every capability `import openapi --by tag` makes of Qovery's
public OpenAPI document (103 capabilities, 554 operations), composed with `build --compose` and
served by one process: RSS after both applications (every REST route, one MCP endpoint with
every tool) are built, then after one started server of each kind has answered.

Qovery's document is not vendored (no licence statement): it is read from
../shared/reference/qovery-openapi.yaml or NAFTIKO_QOVERY_OPENAPI (bench/qovery_subset.py),
and the script says so and exits when neither exists. Run: python bench/bench_family.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from qovery_subset import find_document

NAFTIKO = [sys.executable, "-m", "naftiko_gen"]
MEASURE = """
import sys, time
started = time.monotonic()
import {name}.mcp_server as mcp, {name}.rest_server as rest
app = rest.create_app({{"QOVERY_TOKEN": "bench"}})
server = mcp.build_server({{"QOVERY_TOKEN": "bench"}})
rss = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0])
print(len(server.listed["tools"]), rest.ROUTES, rss, round(time.monotonic() - started, 2))
"""


def main() -> int:
    document = find_document()
    if document is None:
        print("bench_family: Qovery's OpenAPI document is not here (see qovery_subset.py); skipped")
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_family_") as tmp:
        specs, out = Path(tmp) / "specs", Path(tmp) / "generated"
        subprocess.run(
            [*NAFTIKO, "import", "openapi", str(document), "--by", "tag", "-o", str(specs)],
            check=True, capture_output=True,
        )  # fmt: skip
        count = len(list(specs.glob("*.yaml")))
        started = time.monotonic()
        subprocess.run(
            [*NAFTIKO, "build", str(specs), "-o", str(out), "-q", "--compose", "qovery_family"],
            check=True, capture_output=True,
        )  # fmt: skip
        built = time.monotonic() - started
        env = dict(os.environ, PYTHONPATH=str(out))
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # production: compiled once, then cached
        for run in ("first start (compiles)", "second start"):
            line = subprocess.run(
                [sys.executable, "-c", MEASURE.format(name="qovery_family")],
                check=True, capture_output=True, text=True, env=env,
            ).stdout.split()  # fmt: skip
            tools, routes, rss, seconds = line
            print(
                f"{count} capabilities ({tools} tools, {routes} routes) in one process, {run}: "
                f"RSS {int(rss) / 1024:.0f} MB, imported and built in {seconds} s"
            )
        print(f"build --compose of the {count} specs: {built:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
