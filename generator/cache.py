"""A content-addressed cache on disk: whole builds per spec, and black's output per module.

Entries live under one folder (see `cache_dir`), one flat folder per kind:

- ``spec``: everything `generate` produces for one spec (files and diagnostics), keyed by the
  spec's bytes, where it is and where the output goes, and a fingerprint of the generator itself
  (its sources, templates and the versions of black, Jinja and PyYAML). Each entry also lists
  the other files the spec read (imports, bind files, folders listed) with their digests, so
  editing an imported file is a miss too.
- ``blob``: the part of a file that is the same in every package (a runtime module after its
  header line), stored once by its digest; ``spec`` entries refer to it.
- ``black``: formatted Python keyed by sha256 of (the text given to black, black's version, the
  black options). Anything that changes what black would print changes the key. Only black's
  own output is kept (NAFTIKO_GEN_FORMATTER=black, or when ruff cannot format a module): ruff
  formats a module in about the time it takes to create its cache file.
- ``jinja``: compiled templates (Jinja's bytecode cache), when they cannot be kept beside the
  templates, as Python keeps compiled modules (see `jinja_bytecode_cache`).

The cache is an accelerator only: a missing, corrupt, foreign or unwritable cache is never an
error, it just means work is done again. Entries are written atomically (a temporary sibling,
then a rename) and carry a checksum of their content, so a torn or edited entry is ignored.

Environment: ``NAFTIKO_GEN_CACHE_DIR`` picks the folder, ``NAFTIKO_GEN_NO_CACHE=1`` turns the
cache off; otherwise ``$XDG_CACHE_HOME/naftiko-gen`` or ``~/.cache/naftiko-gen``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import importlib.util
import marshal
import os
import re
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from naftiko_gen import __version__
from naftiko_gen.diagnostics import Diagnostic, Pos, Report, Severity
from naftiko_gen.spread import spread_subfolders

CACHE_FORMAT = "2"  # bump when the layout or the meaning of an entry changes
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


class Store:
    """Checksummed blobs by (kind, key); every failure is a miss or a skipped write."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.writable = root is not None
        self.blobs: set[str] = set()  # shared parts known to be stored here
        self.folders: set[Path] = set()  # folders known to exist

    def prepare(self) -> None:
        """Create the folder now: a cache folder that appears in the middle of a build would
        change the listing of a folder the build read (a cache inside a spec folder)."""
        if self.root is not None:
            with contextlib.suppress(OSError):
                folder = self.root / f"v{CACHE_FORMAT}"
                if not folder.is_dir():
                    folder.mkdir(parents=True, exist_ok=True)
                    spread_subfolders(folder)  # one per kind: see generator/spread.py

    def _path(self, kind: str, key: str) -> Path | None:
        if self.root is None:
            return None
        # One flat folder per kind: a cold build would otherwise create a folder per entry.
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
        import tempfile

        tmp = None
        try:
            if path.parent not in self.folders:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.folders.add(path.parent)
            try:
                fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            except FileNotFoundError:  # the folder was deleted meanwhile
                path.parent.mkdir(parents=True, exist_ok=True)
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


_STORE: tuple[Path | None, Store] | None = None


def store() -> Store:
    """The store for the current environment (re-read when the environment changes, as in tests)."""
    global _STORE
    root = cache_dir()
    if _STORE is None or _STORE[0] != root:
        _STORE = (root, Store(root))
    return _STORE[1]


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


# --- versions without importing the packages (importing black costs more than a cached build)

_VERSION_RE = re.compile(
    rb"""^\s*(?:__version__|version)\s*(?::\s*str\s*)?=\s*["']([^"']+)["']""", re.M
)
_versions: dict[str, str] = {}


def package_version(module: str, version_file: str | None = None) -> str:
    """The version a package declares in its sources; falls back to its installed metadata."""
    if module in _versions:
        return _versions[module]
    found = ""
    try:
        spec = importlib.util.find_spec(version_file or module)
        origin = spec.origin if spec is not None else None
        if origin and origin.endswith(".py"):
            match = _VERSION_RE.search(Path(origin).read_bytes())
            found = match.group(1).decode() if match else ""
    except (ImportError, ValueError, OSError):
        found = ""
    if not found:
        try:
            from importlib.metadata import version

            found = version(module)
        except Exception:  # noqa: BLE001 - any failure: an unknown version
            found = "unknown"
    _versions[module] = found
    return found


def black_version() -> str:
    return package_version("black", "_black_version")


# --- black output


_formatted: dict[str, str] = {}  # in-process layer: key → text


def black_key(source: str, options: str) -> str:
    return digest("black", black_version(), options, source)


def get_formatted(key: str, disk: bool = True) -> str | None:
    """`disk=False`: only what this process formatted (a fast formatter is not worth a file)."""
    text = _formatted.get(key)
    if text is None and disk:
        data = store().get("black", key)
        if data is not None:
            try:
                text = data.decode("utf-8", "surrogatepass")
            except UnicodeDecodeError:
                return None
            _formatted[key] = text
    return text


MEMORY_ENTRIES = 1024  # a long process (tests) keeps at most this many texts in memory


def put_formatted(key: str, text: str, disk: bool = True) -> None:
    if len(_formatted) >= MEMORY_ENTRIES:
        _formatted.clear()
    _formatted[key] = text
    if disk:
        store().put("black", key, text.encode("utf-8", "surrogatepass"))


# --- compiled Jinja templates


def jinja_bytecode_cache(templates: Path | None = None) -> Any:
    """Compiled templates (Jinja's bytecode cache); None when there is nowhere to keep them.

    They are the generator's own compiled code, like the .pyc files pip writes when it installs
    the generator, so they are kept where Python keeps those: in `templates`' __pycache__
    folder (or under PYTHONPYCACHEPREFIX), written by the first build that finds them missing;
    where that folder is read-only, in the cache folder. A cold build (an empty cache folder)
    thus does not compile the templates again, as it does not compile the generator's modules
    again. (PYTHONDONTWRITEBYTECODE is about modules Python imports, and pip compiles those at
    install time whatever it says: it does not stop this.) Every entry carries a checksum of its
    template's source and Jinja's and Python's versions: a stale or damaged entry is compiled
    again, never used. It never raises.
    """
    import jinja2.bccache

    readable: list[Path] = []
    beside = _pycache_folder(templates) if templates is not None else None
    if beside is not None:
        readable.append(beside)
    root = store().root
    if root is not None:
        readable.append(root / f"v{CACHE_FORMAT}" / "jinja")
    writable = readable
    if not readable:
        return None

    class Layered(jinja2.bccache.BytecodeCache):
        def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            for folder in readable:
                try:
                    with open(folder / f"__jinja2_{bucket.key}.cache", "rb") as fh:
                        bucket.load_bytecode(fh)
                except Exception:  # noqa: BLE001 - missing or damaged: try the next one
                    bucket.reset()
                if bucket.code is not None:
                    return

        def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
            import io

            data = io.BytesIO()
            bucket.write_bytecode(data)
            for folder in writable:
                path = folder / f"__jinja2_{bucket.key}.cache"
                tmp = folder / f".{path.name}.{os.getpid()}.tmp"
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                    tmp.write_bytes(data.getvalue())
                    os.replace(tmp, path)
                    return
                except OSError:
                    with contextlib.suppress(OSError):
                        tmp.unlink()

    return Layered()


def _pycache_folder(templates: Path) -> Path | None:
    """Where Python would put the compiled form of a module in `templates`."""
    try:
        return Path(importlib.util.cache_from_source(str(templates / "_templates.py"))).parent
    except (NotImplementedError, ValueError):  # no bytecode caching on this interpreter
        return None


# --- what a spec reads: every file opened or folder listed while it is analysed


_reads: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "naftiko_gen_reads", default=None
)
_hook_installed = False
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


@functools.lru_cache(maxsize=1)
def _ignored_roots() -> tuple[str, ...]:
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


# Where naftiko_gen.render finds templates (a test checks the two agree); templates installed inside
# the package are covered with the package's own files.
TEMPLATE_DIRS = (Path(__file__).resolve().parent.parent / "templates",)
_fingerprints: dict[tuple[Path, ...], str] = {}


def generator_fingerprint(extra_dirs: tuple[Path, ...] = ()) -> str:
    """Everything besides the spec that decides what `generate` produces.

    The generator's own sources and any template folders (file names and bytes), and the
    versions of Python, black, Jinja and PyYAML.
    """
    if extra_dirs in _fingerprints:
        return _fingerprints[extra_dirs]
    parts: list[str | bytes] = [
        CACHE_FORMAT,
        __version__,
        sys.version,
        black_version(),
        package_version("jinja2"),
        package_version("yaml"),
    ]
    package = Path(__file__).resolve().parent
    folders = [package, *(d for d in extra_dirs if d.is_dir())]
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if "__pycache__" in path.parts or not path.is_file():
                continue
            if folder == package and path.suffix not in (".py", ".j2", ".json"):
                continue
            try:
                parts += [path.relative_to(folder).as_posix(), path.read_bytes()]
            except OSError:
                parts += [path.as_posix(), "unreadable"]
    _fingerprints[extra_dirs] = digest(*parts)
    return _fingerprints[extra_dirs]


# --- whole builds per spec


_blobs: dict[str, str] = {}  # digest → text of the shared parts of files (runtime modules)


@dataclass
class CachedSpec:
    files: dict[str, str]
    report: Report
    spec: str  # the spec's display path, as Plan.spec


@dataclass
class SpecCache:
    """Look up and record the output of whole specs (see the module docstring)."""

    out_dir: Path
    template_dirs: tuple[Path, ...] = field(default_factory=lambda: TEMPLATE_DIRS)
    store: Store = field(default_factory=store)
    _pending: dict[str, tuple[str, set[str], Report]] = field(default_factory=dict)
    _keys: dict[str, str] = field(default_factory=dict)
    _folders: list[str] = field(default_factory=list)  # the working and output folders, resolved
    _digests: dict[str, str] = field(default_factory=dict)  # path_digest within one build

    def __post_init__(self) -> None:
        self.store.prepare()

    @property
    def enabled(self) -> bool:
        return self.store.root is not None

    def _key(self, spec: Path, display: str, package: str) -> str | None:
        try:
            data = spec.read_bytes()
            if not self._folders:
                self._folders = [str(Path.cwd().resolve()), str(self.out_dir.resolve())]
            where = [str(spec.resolve()), *self._folders]
        except (OSError, RuntimeError, ValueError):
            return None
        return digest(
            "spec", generator_fingerprint(self.template_dirs), display, package, *where, data
        )

    def lookup(self, spec: Path, display: str, package: str) -> CachedSpec | None:
        if not self.enabled:
            return None
        key = self._key(spec, display, package)
        if key is None:
            return None
        self._keys[package] = key
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
            if shared:
                files = dict(sorted(files.items()))
            if not isinstance(files, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in files.items()
            ):
                return None
            if not isinstance(shown, str):
                return None
        except (ValueError, TypeError, KeyError, AttributeError, EOFError):
            return None
        return CachedSpec(files, report, shown)

    @contextlib.contextmanager
    def analysing(self, spec: Path, package: str, report: Report) -> Iterator[None]:
        """Around the analysis of a spec that was a miss: remember what it read."""
        if not self.enabled or package not in self._keys:
            yield
            return
        with recording() as reads:
            yield
        ignored = _ignored_roots()
        own = os.path.abspath(spec)
        deps = {p for p in reads if p != own and not p.startswith(ignored)}
        self._pending[package] = (self._keys[package], deps, report)

    def _blob(self, key: str) -> str | None:
        if key not in _blobs:
            data = self.store.get("blob", key)
            if data is None or digest(data) != key:
                return None
            _blobs[key] = data.decode("utf-8", "surrogatepass")
        return _blobs[key]

    def _digest(self, path: str) -> str:
        if path not in self._digests:  # many specs of one folder share its listing
            self._digests[path] = path_digest(path)
        return self._digests[path]

    def save(
        self, package: str, files: dict[str, str], spec: str, shared: Collection[str] = ()
    ) -> None:
        """Store what a spec analysed under `analysing` produced (only for a clean build).

        `shared`: files that are the same in every package after their first line (the runtime
        modules): that part is stored once, by its digest, and the entry only refers to it.
        """
        pending = self._pending.pop(package, None)
        if pending is None:
            return
        key, deps, report = pending
        if report.has_errors():
            return
        try:
            inline = dict(files)
            refs: dict[str, tuple[str, str]] = {}
            for path in shared:
                head, newline, body = inline[path].partition("\n")
                data = body.encode("utf-8", "surrogatepass")
                blob = digest(data)
                if blob not in self.store.blobs:
                    if self.store.get("blob", blob) is None:
                        self.store.put("blob", blob, data)
                    self.store.blobs.add(blob)
                _blobs[blob] = body
                refs[path] = (head + newline, blob)
                del inline[path]
            # marshal: the entry is only ever read by this Python version (part of the key),
            # and it encodes and decodes several times faster than JSON (--check reads one
            # entry per spec). Not compressed: zlib cost more than reading 3x the bytes.
            entry = (
                spec,
                [(p, self._digest(p)) for p in sorted(deps)],
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
DIAGNOSTIC_FIELDS = ("severity", "rule", "message", "pos")
_Encoded = tuple[str, str, str, str, int, int]


def _encode_diagnostic(d: Diagnostic) -> _Encoded:
    return (d.severity.value, d.rule, d.message, d.pos.file, d.pos.line, d.pos.col)


def _decode_diagnostic(data: _Encoded) -> Diagnostic:
    severity, rule, message, file, line, col = data
    return Diagnostic(Severity(severity), rule, message, Pos(file, line, col))
