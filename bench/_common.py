"""Shared plumbing for the bench_*.py scripts: child processes, readiness, /proc accounting, load.

Every server, the upstream and the load generator run in their own processes, so the CPU read
from ``/proc/<pid>/stat`` belongs to the server alone. Children are started with
``PR_SET_PDEATHSIG`` (Linux) and are also terminated on normal exit, Ctrl-C and SIGTERM.
Everything listens on 127.0.0.1, on ephemeral ports.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
GENERATED = ROOT / "generated"
TOKEN = "bench-token-3c9e"
ENV_ID = "3f1b6a52-0c1e-4a57-9a64-2b0f4d5f6a11"
CLK_TCK = os.sysconf("SC_CLK_TCK")

_children: list[subprocess.Popen[bytes]] = []


def _pdeathsig() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(
    argv: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    stdout: int | None = subprocess.DEVNULL,
    cwd: Path = ROOT,
) -> subprocess.Popen[bytes]:
    """Start a child that dies with us; stderr goes to a temp file shown if it fails early."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        list(argv),
        env=full_env,
        cwd=cwd,
        stdout=stdout,
        stderr=err,
        preexec_fn=_pdeathsig if sys.platform.startswith("linux") else None,
    )
    proc._bench_stderr = err  # type: ignore[attr-defined]
    _children.append(proc)
    return proc


def stderr_of(proc: subprocess.Popen[bytes]) -> str:
    err = getattr(proc, "_bench_stderr", None)
    if err is None:
        return ""
    err.seek(0)
    return err.read().decode(errors="replace")[-3000:]


def stop(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    if proc in _children:
        _children.remove(proc)


def stop_all() -> None:
    for proc in list(_children):
        with contextlib.suppress(Exception):
            stop(proc, timeout=3.0)


def _on_signal(signum: int, _frame: Any) -> None:
    stop_all()
    raise SystemExit(128 + signum)


atexit.register(stop_all)
signal.signal(signal.SIGTERM, _on_signal)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------------------- /proc


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mib(pid: int, key: str = "VmRSS") -> float:
    """VmRSS (now) or VmHWM (peak) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------------------- HTTP probes


def http(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until(
    check: Callable[[], bool],
    proc: subprocess.Popen[bytes] | None,
    *,
    timeout: float = 30.0,
    interval: float = 0.01,
    what: str = "server",
) -> float:
    """Poll ``check`` until it returns True; returns the seconds waited."""
    t0 = time.perf_counter()
    deadline = t0 + timeout
    last: Exception | None = None
    while time.perf_counter() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{stderr_of(proc)}")
        try:
            if check():
                return time.perf_counter() - t0
        except (OSError, ValueError) as exc:
            last = exc
        time.sleep(interval)
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s (last error: {last})")


# ---------------------------------------------------------------------------- upstream


def start_upstream(python: str = sys.executable) -> tuple[subprocess.Popen[bytes], str]:
    """The fast local upstream (bench/upstream_app.py) in its own process; returns its base URL."""
    port = free_port()
    proc = spawn(
        [python, str(BENCH_DIR / "upstream_app.py"), "--port", str(port)],
        env={"BENCH_UPSTREAM_TOKEN": TOKEN},
    )
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/environment/{ENV_ID}/container"
    wait_until(
        lambda: http(url, headers={"Authorization": f"Bearer {TOKEN}"})[0] == 200,
        proc,
        what="upstream",
    )
    return proc, base


# ---------------------------------------------------------------------------- load


@dataclass
class Load:
    """One load run: what to send, and how hard."""

    url: str
    method: str = "GET"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    concurrency: int = 16
    duration: float = 5.0


@dataclass
class LoadResult:
    requests: int
    seconds: float
    errors: int  # non-2xx answers and socket errors

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def load_tool() -> str:
    """``wrk`` when installed (and not disabled with BENCH_LOAD=python), else the aiohttp client."""
    if os.environ.get("BENCH_LOAD", "").lower() != "python" and shutil.which("wrk"):
        return "wrk"
    return "python"


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for ASCII


_WRK_LUA = """
wrk.method = {method}
wrk.body = {body}
{headers}
"""


def run_load(load: Load, python: str = sys.executable) -> LoadResult:
    """Drive ``load.url`` from a separate process; blocks for ``load.duration`` seconds."""
    if load_tool() == "wrk":
        return _run_wrk(load)
    return _run_python_load(load, python)


def _run_wrk(load: Load) -> LoadResult:
    headers = "\n".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in load.headers.items()
    )
    script = _WRK_LUA.format(
        method=_lua_string(load.method), body=_lua_string(load.body.decode()), headers=headers
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        threads = 1  # one wrk thread is plenty for these servers and leaves the 2nd core to them
        out = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{load.concurrency}",
                f"-d{max(1, round(load.duration))}s",
                "--timeout",
                "10s",
                "-s",
                f.name,
                load.url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(f.name)
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if not m:
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    count, value, unit = int(m.group(1)), float(m.group(2)), m.group(3)
    seconds = value * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]
    errors = 0
    if m2 := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m2.group(1))
    if m3 := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    ):
        errors += sum(int(x) for x in m3.groups())
    return LoadResult(count, seconds, errors)


def _run_python_load(load: Load, python: str) -> LoadResult:
    spec = json.dumps(
        {
            "url": load.url,
            "method": load.method,
            "body": load.body.decode(),
            "headers": load.headers,
            "concurrency": load.concurrency,
            "duration": load.duration,
        }
    )
    out = subprocess.run(
        [python, str(BENCH_DIR / "loadclient.py"), spec],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    return LoadResult(data["requests"], data["seconds"], data["errors"])


# ---------------------------------------------------------------------------- measurement


@dataclass
class Sample:
    rps: float
    cpu_us: float  # server CPU per request, microseconds
    hwm_mib: float  # peak RSS of the server process
    errors: int


def measure(pid: int, load: Load, warmup: float, python: str = sys.executable) -> Sample:
    """Warm up, then one measured load run; server CPU from /proc over exactly that run."""
    if warmup > 0:
        run_load(
            Load(load.url, load.method, load.body, load.headers, load.concurrency, warmup), python
        )
    cpu0 = cpu_seconds(pid)
    result = run_load(load, python)
    cpu1 = cpu_seconds(pid)
    per_req = (cpu1 - cpu0) / result.requests * 1e6 if result.requests else float("nan")
    return Sample(result.rps, per_req, rss_mib(pid, "VmHWM"), result.errors)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A Markdown table (pastes into docs/benchmarks.md as is)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("| " + " | ".join("-" * w for w in widths) + " |")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")


def _cpu_jiffies() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def machine_busy(seconds: float = 1.0) -> float:
    """Fraction of all cores busy over ``seconds`` (before our runs: other people's load)."""
    b0, t0 = _cpu_jiffies()
    time.sleep(seconds)
    b1, t1 = _cpu_jiffies()
    return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


def machine_line() -> str:
    cores = os.cpu_count()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = "unknown CPU"
    busy = machine_busy()
    warn = "  WARNING: the machine is busy, figures will be noisy" if busy > 0.15 else ""
    return (
        f"{cores} cores ({model}), Python {sys.version.split()[0]}, load: {load_tool()}, "
        f"machine {busy:.0%} busy before start{warn}"
    )


@contextlib.contextmanager
def section(title: str) -> Iterator[None]:
    print(f"\n## {title}\n", flush=True)
    yield
    sys.stdout.flush()
