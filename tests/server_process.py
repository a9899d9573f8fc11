"""Generated server modules started as real processes, forked from one that has imported aiohttp.

`python -m package.rest_server` spends about 0.35 s of CPU before it listens, 0.25 s of it
importing aiohttp (and creating aiohttp's default SSL contexts). The start-up sweep and the Ikanos
fixture tests start some 250 servers, so most of their CPU time went into that same import. Here
each server is a child of multiprocessing's forkserver (standard library) whose only preloaded
module is aiohttp: the child runs the server module as `-m` would (`runpy.run_module` as
`__main__`, its own argv, environment, working directory at the front of sys.path, and standard
streams on pipes), so everything the generated code does at start-up runs in it for real; only
the third-party import is shared. Where the forkserver is not available (Windows), a plain
`python -m` subprocess is started instead.

What differs from a fresh interpreter, on purpose: the interpreter's own environment switches
(PYTHONPATH, PYTHONUNBUFFERED, ...) are read once, by the forkserver; PYTHONPATH entries of the
server's environment are put on sys.path by hand.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import multiprocessing
import os
import re
import runpy
import subprocess
import sys
import threading
from multiprocessing.reduction import DupFd
from pathlib import Path
from typing import IO, Any

# A server's start-up line: REST/MCP/skills over HTTP, MCP over stdio, the control port.
READY = re.compile(r"(ready .* after start|^MCP on stdio|^control on http)", re.MULTILINE)

_PRELOAD = ["aiohttp", "aiohttp.web"]
_context: Any = None


def _forkserver() -> Any:
    global _context
    if _context is None and "forkserver" in multiprocessing.get_all_start_methods():
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload([*_PRELOAD, __name__])
    return _context


def _same(value: Any) -> Any:
    return value


class _PassFd:
    """A file descriptor for the child: multiprocessing's DupFd is taken while the child is being
    started (the forkserver then passes the descriptor over its Unix socket)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Any, tuple[Any]]:
        return _same, (DupFd(self.fd),)


def _child(module: str, argv: list[str], cwd: str, env: dict[str, str], fds: list[Any]) -> None:
    """In the forked child: become `python -m module argv...` in cwd with env."""
    stdin, stdout, stderr = (fd.detach() for fd in fds)
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
        os.dup2(fd, target)
        os.close(fd)
    # The streams a fresh interpreter opens on 0, 1 and 2 (stderr line-buffered, as Python does
    # when it is not a terminal)
    sys.stdin = io.TextIOWrapper(open(0, "rb", closefd=False))  # noqa: SIM115
    sys.stdout = io.TextIOWrapper(open(1, "wb", closefd=False))  # noqa: SIM115
    stderr_file = open(2, "wb", closefd=False)  # noqa: SIM115
    sys.stderr = io.TextIOWrapper(stderr_file, errors="backslashreplace", line_buffering=True)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:0] = [cwd, *(os.path.join(cwd, p) for p in extra)]
    sys.argv = [module, *argv]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        # multiprocessing ends its children with os._exit: run what a normal exit runs.
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()


class ServerProcess:
    """The few Popen methods the tests use, over a forkserver child or a plain subprocess."""

    def __init__(self, module: str, args: list[str], cwd: Path, env: dict[str, str]) -> None:
        context = _forkserver()
        self._popen: subprocess.Popen[str] | None = None
        self._process: Any = None
        if context is None:
            self._popen = subprocess.Popen(
                [sys.executable, "-m", module, *args], cwd=cwd, env=env, text=True,
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            self.stdin: IO[str] | None = self._popen.stdin
            self.stderr: IO[str] = self._popen.stderr  # type: ignore[assignment]
            return
        stdin_r, stdin_w = os.pipe()
        stderr_r, stderr_w = os.pipe()
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            self._process = context.Process(
                target=_child,
                args=(
                    module,
                    args,
                    str(cwd),
                    env,
                    [_PassFd(fd) for fd in (stdin_r, devnull, stderr_w)],
                ),
                daemon=True,  # never outlives the test process
            )
            self._process.start()
        finally:
            for fd in (stdin_r, stderr_w, devnull):
                os.close(fd)
        self.stdin = open(stdin_w, "w")  # noqa: SIM115 (closed by close())
        self.stderr = open(stderr_r, errors="replace")  # noqa: SIM115

    @property
    def pid(self) -> int:
        return int(self._popen.pid if self._popen else self._process.pid)

    def poll(self) -> int | None:
        if self._popen:
            return self._popen.poll()
        return self._process.exitcode  # type: ignore[no-any-return]

    def wait(self, timeout: float | None = None) -> int:
        if self._popen:
            return self._popen.wait(timeout)
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(f"forkserver child {self.pid}", timeout or 0)
        return int(self._process.exitcode)

    def terminate(self) -> None:
        if self.poll() is None:
            (self._popen or self._process).terminate()

    def kill(self) -> None:
        if self.poll() is None:
            (self._popen or self._process).kill()

    def close(self) -> None:
        for stream in (self.stdin, self.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


PLACEHOLDER = "placeholder-value-7f3a"


def placeholder_env(spec: Path) -> dict[str, str]:
    """A minimal environment with a placeholder for every variable the spec names (its
    `{{NAME}}` references, bind keys and other upper-case names)."""
    text = spec.read_text("utf-8")
    names = set(re.findall(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}", text))
    names |= set(re.findall(r"\b([A-Z][A-Z0-9_]{2,})\b", text))  # bind keys and variables
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return env | dict.fromkeys(sorted(names), PLACEHOLDER)


def server_args(module: Path) -> list[str]:
    """The arguments that start a generated server module on a free port of its own (those that
    have a port) without requiring callers' credentials (those that would)."""
    source = module.read_text("utf-8")
    args = ["--port", "0"] if '"--port"' in source else []
    if "_guard.add_arguments(parser)" in source:
        args.append("--allow-unauthenticated")
    return args


def start_until_ready(
    module: str, args: list[str], cwd: Path, env: dict[str, str], timeout: float = 30
) -> tuple[int | None, str]:
    """Start the server module and run it until its start-up line, an exit, or `timeout`;
    then stop it. The exit code (None: it was still running) and everything it wrote to stderr."""
    proc = ServerProcess(module, args, cwd, env)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            if READY.search(line):
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    ready.wait(timeout)
    code = None
    if not READY.search("".join(lines)):  # stderr ended (or the time passed): it is exiting
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = proc.wait(10)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reader.join(5)
    proc.close()
    return code, "".join(lines)
