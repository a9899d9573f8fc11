"""Generated files ↔ the output folder: a manifest of what naftiko-gen owns, write, check, diff."""

from __future__ import annotations

import difflib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = ".naftiko-gen.json"
IGNORED_PARTS = ("__pycache__",)


@dataclass
class Changes:
    write: dict[str, str] = field(default_factory=dict)  # relative path → new text
    remove: list[str] = field(default_factory=list)
    remove_dirs: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def clean(self) -> bool:
        return not self.write and not self.remove and not self.remove_dirs


def read_manifest(out_dir: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        packages = data.get("packages", {})
        return packages if isinstance(packages, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


def _owned_files(out_dir: Path, package: str) -> list[str]:
    root = out_dir / package
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(out_dir)
        if path.is_file() and not any(part in IGNORED_PARTS for part in rel.parts):
            out.append(rel.as_posix())
    return out


def plan_changes(files: dict[str, str], specs: dict[str, str], out_dir: Path) -> Changes:
    """What build must do so that out_dir holds `files`; `specs` maps package → spec path."""
    old = read_manifest(out_dir)
    packages: dict[str, dict[str, object]] = {}
    for name, entry in old.items():
        spec = entry.get("spec") if isinstance(entry, dict) else None
        if name in specs:
            continue
        # A package whose spec is gone is removed; one merely not built this time is kept.
        if isinstance(spec, str) and (out_dir / spec).exists():
            packages[name] = entry
    changes = Changes()
    for name in sorted(set(old) - set(packages) - set(specs)):
        if (out_dir / name).exists():
            changes.remove_dirs.append(name)
    for package, spec in sorted(specs.items()):
        produced = sorted(p for p in files if p.startswith(package + "/"))
        # Relative to the output folder, so a later build from any working folder finds it.
        spec_rel = Path(os.path.relpath(Path(spec).resolve(), out_dir.resolve())).as_posix()
        packages[package] = {"spec": spec_rel, "files": [p.split("/", 1)[1] for p in produced]}
        for rel in _owned_files(out_dir, package):
            if rel not in files:
                changes.remove.append(rel)
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
    for rel, text in sorted(wanted.items()):
        path = out_dir / rel
        try:
            current = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            current = None
        if current == text:
            changes.unchanged += 1
        else:
            changes.write[rel] = text
    return changes


def apply_changes(changes: Changes, out_dir: Path) -> None:
    """Stage every file as a temporary sibling first, then move them all into place.

    A failure while staging (disk full, permissions) removes the staged files and leaves the
    output folder as it was; the moves themselves are renames within one folder.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for rel, text in changes.write.items():
            target = out_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".naftiko-", dir=target.parent)
            staged.append((tmp, target))
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.chmod(tmp, 0o666 & ~_umask())
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    try:
        for tmp, target in staged:
            try:
                os.replace(tmp, target)
            except OSError as exc:  # name the file the user knows, not the staged one
                raise OSError(exc.errno, exc.strerror, str(target)) from None
    finally:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
    for rel in changes.remove:
        (out_dir / rel).unlink(missing_ok=True)
    for name in changes.remove_dirs:
        shutil.rmtree(out_dir / name, ignore_errors=True)


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
        lines.append(f"extra: {(out_dir / rel).as_posix()}\n")
    for name in changes.remove_dirs:
        lines.append(f"extra: {(out_dir / name).as_posix()}/ (its spec is gone)\n")
    text = "".join(lines)
    return text if text.endswith("\n") or not text else text + "\n"
