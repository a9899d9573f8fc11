"""The build cache: whole specs, by content, in the user cache folder (never in the installation).

Entries live under one folder (see `cache_dir`), one flat folder per kind:

- ``spec``: everything the pipeline produces for one spec (files and diagnostics), keyed by the
  spec's bytes, where it is and where the output goes, and the generator's fingerprint: its own
  sources and templates, the versions of Python, Jinja and PyYAML, and the formatter's identity
  (name, version, options: formatting.identity, given by the caller). Each entry also lists the other files the spec
  read (imports, bind files, folders listed) with their digests, so editing an imported file is
  a miss too.
- ``blob``: the part of a file that is the same in every package (a runtime module after its
  header line), stored once by its digest; ``spec`` entries refer to it.
- ``jinja``: compiled templates (Jinja's own FileSystemBytecodeCache).

The cache is an accelerator only: a missing, corrupt, foreign or unwritable cache is never an
error, it just means work is done again. Entries are written atomically (a temporary sibling,
then a rename) and carry a checksum of their content, so a torn or edited entry is ignored.

Environment: ``NAFTIKO_GEN_CACHE_DIR`` picks the folder, ``NAFTIKO_GEN_NO_CACHE=1`` turns the
cache off; otherwise ``$XDG_CACHE_HOME/naftiko-gen`` or ``~/.cache/naftiko-gen``.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import marshal
import os
import sys
import tempfile
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from naftiko_gen import __version__
from naftiko_gen.diagnostics import Diagnostic, Pos, Report, Severity, Skip

CACHE_FORMAT = "3"  # bump when the layout or the meaning of an entry changes
_MAGIC = b"naftiko-gen-cache/" + CACHE_FORMAT.encode() + b"\n"


def cache_dir() -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    if os.environ.get("NAFTIKO_GEN_NO_CACHE", "").strip() not in ("", "0"):
        return None
    explicit = os.environ.get("NAFTIKO_GEN_CACHE_DIR", "").strip()
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore relative values
        return Path(xdg) / "naftiko-gen"
    try:
        return Path.home() / ".cache" / "naftiko-gen"
    except (RuntimeError, KeyError, OSError):  # no home folder: no cache
        return None


def jinja_folder() -> Path | None:
    """Where compiled templates are kept (created here), or None: no cache, or not writable."""
    root = cache_dir()
    if root is None:
        return None
    folder = root / f"v{CACHE_FORMAT}" / "jinja"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


class Store:
    """Checksummed blobs by (kind, key); every failure is a miss or a skipped write."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.writable = root is not None
        self.folders: set[Path] = set()  # folders known to exist

    def _path(self, kind: str, key: str) -> Path | None:
        if self.root is None:
            return None
        return self.root / f"v{CACHE_FORMAT}" / kind / key

    def get(self, kind: str, key: str) -> bytes | None:
        path = self._path(kind, key)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except (OSError, ValueError):
            return None
        head = len(_MAGIC) + 64
        if len(data) < head + 1 or not data.startswith(_MAGIC) or data[head : head + 1] != b"\n":
            return None
        payload = data[head + 1 :]
        if hashlib.sha256(payload).hexdigest().encode() != data[len(_MAGIC) : head]:
            return None
        return payload

    def put(self, kind: str, key: str, payload: bytes) -> None:
        path = self._path(kind, key)
        if path is None or not self.writable:
            return
        blob = _MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
        tmp = None
        try:
            if path.parent not in self.folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.folders.add(path.parent)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            os.replace(tmp, path)
            tmp = None
        except (OSError, ValueError):
            self.writable = False  # a read-only or full disk: stop trying for this run
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


# --- what a spec reads: every file opened or folder listed while it is analysed


_reads: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "naftiko_gen_reads", default=None
)
_hook_installed = (
    False  # an audit hook cannot be removed: one per process, idle outside `recording`
)
_READ_EVENTS = ("open", "os.listdir", "os.scandir")


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event not in _READ_EVENTS:
        return
    reads = _reads.get()
    if reads is None or not args:
        return
    path = args[0]
    if event == "open" and len(args) > 1 and isinstance(args[1], str) and "r" not in args[1]:
        return
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(path, str):
        reads.add(os.path.abspath(path or "."))


@contextlib.contextmanager
def recording() -> Iterator[set[str]]:
    """Collect the absolute paths of every file opened and folder listed in this block."""
    global _hook_installed
    if not _hook_installed:
        sys.addaudithook(_audit)
        _hook_installed = True
    reads: set[str] = set()
    token = _reads.set(reads)
    try:
        yield reads
    finally:
        _reads.reset(token)


def _tool_folders() -> tuple[str, ...]:
    """Folders whose files are the tools themselves, covered by the fingerprint instead."""
    import site
    import sysconfig

    roots = {sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.update(site.getsitepackages())
    roots.add(str(Path(__file__).resolve().parent))
    roots.discard("/")
    return tuple(sorted(os.path.join(os.path.abspath(r), "") for r in roots if r))


def path_digest(path: str) -> str:
    """What a dependency looks like now: file bytes, folder entries, or its absence."""
    try:
        if os.path.isdir(path):
            return "dir:" + digest(*sorted(os.listdir(path)))
        with open(path, "rb") as fh:
            return "file:" + digest(fh.read())
    except FileNotFoundError:
        return "missing"
    except OSError as exc:
        return f"error:{exc.errno}"


# --- the generator's own fingerprint


def _installed(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


def generator_fingerprint(template_dirs: Collection[Path], formatter: str) -> str:
    """Everything besides the spec that decides what the pipeline produces: the generator's own
    sources and templates (file names and bytes), the versions of Python, Jinja and PyYAML, and
    the formatter's identity (formatting.identity)."""
    parts: list[str | bytes] = [
        CACHE_FORMAT,
        __version__,
        sys.version,
        formatter,
        _installed("Jinja2"),
        _installed("PyYAML"),
    ]
    package = Path(__file__).resolve().parent
    for folder in [package, *(d for d in template_dirs if d.is_dir() and d != package)]:
        for path in sorted(folder.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if path.suffix not in (".py", ".j2", ".json"):
                continue
            try:
                parts += [path.relative_to(folder).as_posix(), path.read_bytes()]
            except OSError:
                parts += [path.as_posix(), "unreadable"]
    return digest(*parts)


# --- whole specs


@dataclass
class CachedSpec:
    files: dict[str, str]
    report: Report
    spec: str  # the spec's display path, as Plan.spec


@dataclass
class SpecCache:
    """Look up and record the output of whole specs (see the module docstring)."""

    out_dir: Path
    template_dirs: tuple[Path, ...]
    formatter: str  # formatting.identity(): another formatter never reuses these entries
    store: Store = field(default_factory=lambda: Store(cache_dir()))
    _fingerprint: str = ""
    _folders: list[str] = field(default_factory=list)  # the working and output folders, resolved
    _digests: dict[str, str] = field(default_factory=dict)  # path_digest within one build
    _blobs: dict[str, str] = field(default_factory=dict)  # digest → shared text (runtime modules)

    @property
    def enabled(self) -> bool:
        return self.store.root is not None

    def key(self, spec: Path, display: str, package: str) -> str | None:
        """The key of a spec's entry, or None (no cache, or the spec cannot be read)."""
        if not self.enabled:
            return None
        try:
            data = spec.read_bytes()
            if not self._folders:
                self._folders = [str(Path.cwd().resolve()), str(self.out_dir.resolve())]
            where = [str(spec.resolve()), *self._folders]
        except (OSError, RuntimeError, ValueError):
            return None
        if not self._fingerprint:
            self._fingerprint = generator_fingerprint(self.template_dirs, self.formatter)
        return digest("spec", self._fingerprint, display, package, *where, data)

    def lookup(self, key: str) -> CachedSpec | None:
        data = self.store.get("spec", key)
        if data is None:
            return None
        try:
            shown, reads, diagnostics, files, shared = marshal.loads(data)
            for path, seen in reads:
                if self._digest(path) != seen:
                    return None
            report = Report([_decode_diagnostic(d) for d in diagnostics])
            for path, (head, blob) in shared.items():
                body = self._blob(blob)
                if body is None:
                    return None
                files[path] = head + body
            if not isinstance(files, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in files.items()
            ):
                return None
            if not isinstance(shown, str):
                return None
        except (ValueError, TypeError, KeyError, AttributeError, EOFError):
            return None
        return CachedSpec(dict(sorted(files.items())), report, shown)

    def _blob(self, key: str) -> str | None:
        if key not in self._blobs:
            data = self.store.get("blob", key)
            if data is None or digest(data) != key:
                return None
            self._blobs[key] = data.decode("utf-8", "surrogatepass")
        return self._blobs[key]

    def _digest(self, path: str) -> str:
        if path not in self._digests:  # many specs of one folder share its listing
            self._digests[path] = path_digest(path)
        return self._digests[path]

    def save(
        self,
        key: str,
        spec: Path,
        display: str,
        files: dict[str, str],
        report: Report,
        reads: Collection[str],
        shared: Collection[str] = (),
    ) -> None:
        """Store what a clean spec produced. `reads`: every path its analysis read (the spec and
        the tools' own files are left out). `shared`: files that are the same in every package
        after their first line (the runtime modules): that part is stored once, by its digest,
        and the entry only refers to it."""
        if report.has_errors():
            return
        own = os.path.abspath(spec)
        tools = _tool_folders()
        deps = sorted(p for p in reads if p != own and not p.startswith(tools))
        try:
            inline = dict(files)
            refs: dict[str, tuple[str, str]] = {}
            for path in shared:
                head, newline, body = inline.pop(path).partition("\n")
                data = body.encode("utf-8", "surrogatepass")
                blob = digest(data)
                if blob not in self._blobs:
                    if self.store.get("blob", blob) is None:
                        self.store.put("blob", blob, data)
                    self._blobs[blob] = body
                refs[path] = (head + newline, blob)
            # marshal: the entry is only ever read by this Python version (part of the key),
            # and it decodes several times faster than JSON (--check reads one entry per spec).
            entry = (
                display,
                [(p, self._digest(p)) for p in deps],
                [_encode_diagnostic(d) for d in report.items],
                inline,
                refs,
            )
            payload = marshal.dumps(entry)
        except (TypeError, ValueError, UnicodeEncodeError):
            return  # something not representable: just do not cache this spec
        self.store.put("spec", key, payload)


# What a cached diagnostic holds, in this order (tests/test_cache.py checks that Diagnostic
# has exactly these fields, so that a new one cannot be dropped from the cache unnoticed).
DIAGNOSTIC_FIELDS = ("severity", "rule", "message", "pos", "skip")


def _encode_diagnostic(d: Diagnostic) -> tuple[Any, ...]:
    skip = (d.skip.part, d.skip.rule, d.skip.message) if d.skip else None
    return (d.severity.value, d.rule, d.message, d.pos.file, d.pos.line, d.pos.col, skip)


def _decode_diagnostic(data: tuple[Any, ...]) -> Diagnostic:
    severity, rule, message, file, line, col, skip = data
    return Diagnostic(
        Severity(severity), rule, message, Pos(file, line, col), Skip(*skip) if skip else None
    )
