"""Generated files ↔ the output folder: a manifest of what naftiko-gen owns, write, check, diff.

`OUTPUT/.naftiko-gen.json` lists, per package, the files naftiko-gen wrote. Only those are ever
overwritten or removed: any other file in a package folder (NOTES.md, a local test) is *foreign*,
left alone and reported; a generated file that would replace a foreign file with different
content is a *conflict*, and nothing is written.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".naftiko-gen.json"
IGNORED_PARTS = ("__pycache__",)


class OwnershipError(Exception):
    """apply_changes was handed a plan that would overwrite files naftiko-gen does not own."""


@dataclass
class Changes:
    write: dict[str, str] = field(default_factory=dict)  # relative path → new text
    remove: list[str] = field(default_factory=list)  # owned files no longer generated
    remove_dirs: list[str] = field(default_factory=list)  # packages whose spec is gone
    unchanged: int = 0
    foreign: list[str] = field(default_factory=list)  # files in a package naftiko-gen did not write
    conflicts: list[str] = field(
        default_factory=list
    )  # foreign files a generated file would replace
    manifest_error: str | None = None  # the manifest exists but cannot be read

    @property
    def clean(self) -> bool:
        return not self.write and not self.remove and not self.remove_dirs

    @property
    def refused(self) -> bool:
        return bool(self.conflicts) or self.manifest_error is not None


def read_manifest(out_dir: Path) -> dict[str, dict[str, object]]:
    return _read_manifest(out_dir)[0]


def _read_manifest(out_dir: Path) -> tuple[dict[str, dict[str, object]], str | None]:
    """(packages, problem): a missing manifest is an empty one; a broken one is a problem."""
    path = out_dir / MANIFEST
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as exc:
        return {}, f"cannot read {path.as_posix()}: {getattr(exc, 'strerror', None) or exc}"
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or data.get("generator") != "naftiko-gen":
        return {}, (
            f"{path.as_posix()} is not a naftiko-gen manifest (a merge conflict?); restore it "
            "from version control, or delete it together with the generated packages"
        )
    packages = data.get("packages", {})
    if not isinstance(packages, dict):
        return {}, f"{path.as_posix()} has no 'packages' mapping; restore it from version control"
    return {k: v for k, v in packages.items() if isinstance(v, dict)}, None


def _files_on_disk(out_dir: Path, package: str) -> list[str]:
    """Every file under out_dir/package (relative to out_dir), caches excepted; like
    Path.rglob, links to folders are not followed (and links to files are files)."""
    root = os.path.join(out_dir, package)
    if not os.path.isdir(root):
        return []
    out = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in IGNORED_PARTS]
        rel = Path(os.path.relpath(folder, out_dir)).as_posix()
        for name in names:
            if name not in IGNORED_PARTS and os.path.isfile(os.path.join(folder, name)):
                out.append(f"{rel}/{name}")
    return sorted(out)


def _owned(package: str, entry: dict[str, object], files: dict[str, str]) -> set[str]:
    """Files of `package` the manifest says naftiko-gen wrote (relative to the output folder).

    An entry without a 'files' list (written before files were recorded) owns the files that
    this build generates for the package: it is rewritten with the list on the next build.
    """
    listed = entry.get("files")
    if isinstance(listed, list):
        return {f"{package}/{f}" for f in listed if isinstance(f, str) and f}
    return {rel for rel in files if rel.startswith(package + "/")}


def plan_changes(files: dict[str, str], specs: dict[str, str], out_dir: Path) -> Changes:
    """What build must do so that out_dir holds `files`; `specs` maps package → spec path."""
    old, problem = _read_manifest(out_dir)
    changes = Changes(manifest_error=problem)
    owned: set[str] = set()
    for name, entry in old.items():
        owned |= _owned(name, entry, files)
    packages: dict[str, dict[str, object]] = {}
    for name, entry in old.items():
        spec = entry.get("spec")
        if name in specs:
            continue
        # A package whose spec is gone is removed; one merely not built this time is kept.
        if isinstance(spec, str) and (out_dir / spec).exists():
            packages[name] = entry
            continue
        mine = _owned(name, entry, files)
        leftovers = False
        for rel in _files_on_disk(out_dir, name):
            if rel in mine:
                changes.remove.append(rel)
                leftovers = True
            else:
                changes.foreign.append(rel)
        if leftovers:
            changes.remove_dirs.append(name)
    by_package: dict[str, list[str]] = {}
    for rel in files:
        by_package.setdefault(rel.split("/", 1)[0], []).append(rel)
    resolved_out = out_dir.resolve()
    for package, spec in sorted(specs.items()):
        produced = sorted(by_package.get(package, []))
        # Relative to the output folder, so a later build from any working folder finds it.
        spec_rel = Path(os.path.relpath(Path(spec).resolve(), resolved_out)).as_posix()
        packages[package] = {"spec": spec_rel, "files": [p.split("/", 1)[1] for p in produced]}
        for rel in _files_on_disk(out_dir, package):
            if rel in files:
                continue
            if rel in owned:
                changes.remove.append(rel)
            else:
                changes.foreign.append(rel)
    manifest_text = (
        json.dumps(
            {"generator": "naftiko-gen", "packages": dict(sorted(packages.items()))},
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )
    wanted = dict(files)
    wanted[MANIFEST] = manifest_text
    absent: dict[str, bool] = {}  # top folder → nothing of that name on disk
    for rel, text in sorted(wanted.items()):
        top, inside, _ = rel.partition("/")
        if inside:
            gone = absent.get(top)
            if gone is None:
                gone = absent[top] = not os.path.lexists(os.path.join(out_dir, top))
            if gone:  # a new package: no file of it to compare or to conflict with
                changes.write[rel] = text
                continue
        path = out_dir / rel
        if _holds(path, text):
            changes.unchanged += 1
            continue
        changes.write[rel] = text
        if rel != MANIFEST and rel not in owned and (path.exists() or path.is_symlink()):
            changes.conflicts.append(rel)
    changes.remove.sort()
    changes.foreign.sort()
    return changes


def _holds(path: Path, text: str) -> bool:
    """Whether the file reads as `text` (as read_text would read it: newlines translated)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    if b"\r" not in data and "\r" not in text:  # the usual case: compare bytes
        try:
            return data == text.encode("utf-8")
        except UnicodeEncodeError:
            return False
    try:
        return path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def apply_changes(
    changes: Changes, out_dir: Path, log: Callable[[str, str], None] | None = None
) -> None:
    """Stage every file as a temporary sibling first, then move them all into place.

    A failure while staging (disk full, permissions) removes the staged files and leaves the
    output folder as it was; the moves themselves are renames within one folder. `log(action,
    path)` hears of every file written or removed. Refuses plans with conflicts.
    """
    if changes.refused:
        raise OwnershipError(changes.manifest_error or ", ".join(changes.conflicts))
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    folders: set[Path] = set()
    mode = 0o666 & ~_umask()
    try:
        for rel, text in changes.write.items():
            target = out_dir / rel
            if target.parent not in folders:
                target.parent.mkdir(parents=True, exist_ok=True)
                folders.add(target.parent)
            staged.append((_stage(target, text.encode("utf-8"), mode), target))
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    moved = 0
    try:
        # The manifest sorts first: should a later move fail, it already claims the new files.
        for tmp, target in staged:
            try:
                os.replace(tmp, target)
            except OSError as exc:  # name the file the user knows, not the staged one
                raise OSError(exc.errno, exc.strerror, str(target)) from None
            moved += 1
            if log is not None:
                log("wrote", target.as_posix())
    finally:
        for tmp, _ in staged[moved:]:
            Path(tmp).unlink(missing_ok=True)
    for rel in changes.remove:
        (out_dir / rel).unlink(missing_ok=True)
        if log is not None:
            log("removed", (out_dir / rel).as_posix())
    for name in changes.remove_dirs:
        _prune(out_dir / name)


_STAGED = itertools.count()


def _stage(target: Path, data: bytes, mode: int) -> str:
    """Write `data` to a new temporary sibling of `target` (created by this process alone, as
    mkstemp does); its name."""
    while True:
        tmp = os.path.join(target.parent, f".naftiko-{os.getpid()}-{next(_STAGED)}.tmp")
        try:
            _write_new(tmp, data, mode)
            return tmp
        except FileExistsError:
            continue


_CREATE = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def _write_new(path: str, data: bytes, mode: int) -> None:
    """Create `path` (it must not exist) holding `data`, with permissions `mode`."""
    fd = os.open(path, _CREATE, 0o600)
    try:
        try:  # the descriptor itself (no file object, no second lookup of the path)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise


def _prune(root: Path) -> None:
    """Remove a dropped package's caches and empty folders; foreign files keep theirs."""
    if not root.is_dir():
        return
    for cache in sorted(root.rglob("__pycache__"), reverse=True):
        shutil.rmtree(cache, ignore_errors=True)
    for folder in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
        _rmdir_if_empty(folder)
    _rmdir_if_empty(root)


def _rmdir_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def describe(changes: Changes, out_dir: Path) -> str:
    """A unified diff of what build would change, with missing and extra files named."""
    lines: list[str] = []
    for rel, text in changes.write.items():
        path = out_dir / rel
        try:
            current = path.read_text(encoding="utf-8").splitlines(keepends=True)
            exists = True
        except (OSError, UnicodeDecodeError):
            current, exists = [], path.exists()
        if not exists:
            lines.append(f"missing: {(out_dir / rel).as_posix()}\n")
        lines.extend(
            difflib.unified_diff(
                current,
                text.splitlines(keepends=True),
                fromfile=f"a/{(out_dir / rel).as_posix()}",
                tofile=f"b/{(out_dir / rel).as_posix()}",
            )
        )
    for rel in changes.remove:
        if rel.split("/", 1)[0] not in changes.remove_dirs:
            lines.append(f"extra: {(out_dir / rel).as_posix()}\n")
    for name in changes.remove_dirs:
        lines.append(f"extra: {(out_dir / name).as_posix()}/ (its spec is gone)\n")
    text = "".join(lines)
    return text if text.endswith("\n") or not text else text + "\n"
