"""Every generated server starts, or stops with one `error:` line: never a traceback.

Each feature fixture and tutorial step is built, and each of its server modules (REST, MCP over
HTTP and stdio, control, skills) is started as a process (tests/server_process.py) with a
placeholder value for every variable its spec names: secrets that are not keys, certificates that are not certificates,
URLs that are not URLs. A server that accepts them must come up (its listening line); one that
refuses must say why in one line, without the value. A start-up sweep like this found a
certificate that did not load raising from inside the event loop once the server had started.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.server_process import (
    PLACEHOLDER,
    READY,
    placeholder_env,
    server_args,
    start_until_ready,
)
from tests.support import FIXTURES, build

pytestmark = pytest.mark.slow

SPECS = sorted(
    (
        p
        for p in [*(FIXTURES / "features").rglob("*.yaml"), *(FIXTURES / "tutorial").glob("*.yml")]
        # capabilities, not the bind files and consumes files some of them read
        if re.search(r"^capability:", p.read_text("utf-8"), re.MULTILINE)
        and re.search(r"^\s+exposes:", p.read_text("utf-8"), re.MULTILINE)
    ),
    key=lambda p: p.as_posix(),
)
@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_each_server_starts_or_says_why_in_one_line(spec: Path, tmp_path: Path) -> None:
    package = build(spec, tmp_path)
    env = placeholder_env(spec)
    for module in sorted((tmp_path / package).glob("*_server.py")):
        args = server_args(module)
        code, stderr = start_until_ready(f"{package}.{module.stem}", args, tmp_path, env)
        where = f"{module.name}: {' '.join(args)}"
        assert "Traceback" not in stderr, f"{where}\n{stderr}"
        if code is None:
            assert READY.search(stderr), f"{where}: running, but said nothing\n{stderr}"
            continue
        assert code != 0, f"{where}: exited 0 at start-up\n{stderr}"
        said = [line for line in stderr.splitlines() if line.strip()]
        assert said and said[-1].startswith("error: "), f"{where}\n{stderr}"
        assert PLACEHOLDER not in said[-1], f"{where}: a secret's value in the error\n{stderr}"
    assert list((tmp_path / package).glob("*_server.py")), "the spec builds servers"
