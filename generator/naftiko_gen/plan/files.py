"""Files a spec points at (`location: file:///...`): resolved against the spec's folder, never
outside it, read as UTF-8 text while the spec is analysed (so the build cache tracks them)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from naftiko_gen.diagnostics import Pos, Report

# Media types by file extension (a fixed table: the system's mime database differs per machine).
MEDIA_TYPES = {
    ".md": "text/markdown", ".markdown": "text/markdown", ".json": "application/json",
    ".yaml": "application/yaml", ".yml": "application/yaml", ".txt": "text/plain",
    ".xml": "application/xml", ".html": "text/html", ".htm": "text/html", ".csv": "text/csv",
    ".tsv": "text/tab-separated-values", ".py": "text/x-python", ".js": "text/javascript",
    ".css": "text/css", ".svg": "image/svg+xml",
}  # fmt: skip
MAX_BYTES = 8 * 1024 * 1024


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(Path(name).suffix.lower(), "text/plain")


def locate(
    location: str,
    base: Path,
    pos: Pos,
    report: Report,
    folder: bool,
    what: str,
    absolute_ok: bool = False,
    missing_rule: str | None = None,
) -> Path | None:
    """The file or folder a `location` names (file:///./x, file:///abs/x or x: relative to the
    spec's folder); a located error when it is missing, of the wrong kind or outside `base`.

    `absolute_ok`: an absolute file:///path may lie outside the spec's folder (it is copied into
    the package at build time). `missing_rule`: a missing location is that rule's warning (the
    caller skips what needed it) rather than an error."""
    raw = location[len("file://") :] if location.startswith("file://") else location
    raw = unquote(raw)
    if raw.startswith("/./") or raw.startswith("/../"):
        raw = raw[1:]
    path = Path(raw) if raw.startswith("/") else base / raw
    root = base.resolve()
    resolved = path.resolve()
    if missing_rule is not None and not resolved.exists():
        report.warning(missing_rule, f"{what} '{location}' does not exist; it is skipped", pos)
        return None
    if absolute_ok and raw.startswith("/"):
        pass
    elif resolved != root and root not in resolved.parents:
        report.error(
            "naftiko-file-location",
            f"{what} '{location}' is outside the spec's folder; only files under it are "
            "copied into the package",
            pos,
        )
        return None
    kind = "folder" if folder else "file"
    if not resolved.exists():
        report.error("naftiko-file-location", f"{what} '{location}' does not exist", pos)
        return None
    if resolved.is_dir() != folder:
        report.error("naftiko-file-location", f"{what} '{location}' is not a {kind}", pos)
        return None
    return resolved


def read_text(path: Path, shown: str, pos: Pos, report: Report, what: str) -> str | None:
    try:
        data = path.read_bytes()
    except OSError as exc:
        report.error("naftiko-file-location", f"{what} '{shown}' cannot be read: {exc}", pos)
        return None
    if len(data) > MAX_BYTES:
        report.error("naftiko-file-location", f"{what} '{shown}' is over 8 MiB", pos)
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        report.error(
            "naftiko-file-location",
            f"{what} '{shown}' is not UTF-8 text; only text files are served",
            pos,
        )
        return None


def folder_files(
    folder: Path, root: Path, pos: Pos, report: Report, what: str
) -> list[tuple[str, str]] | None:
    """(path relative to `folder`, text) of every file under it, sorted; hidden files and
    links leaving the spec's folder are left out."""
    out: list[tuple[str, str]] = []
    failed = False
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in rel.split("/")) or not path.is_file():
            continue
        resolved = path.resolve()
        if root.resolve() not in resolved.parents:
            continue
        text = read_text(path, rel, pos, report, f"{what}: file")
        if text is None:
            failed = True
            continue
        out.append((rel, text))
    return None if failed else out
