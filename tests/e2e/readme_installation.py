"""After the README's build command: naftiko-gen is installed (not editable), its wheel brought
precompiled templates, and the first build wrote nothing into the installation (Jinja bytecode
in site-packages once shadowed the editable install of the README's test command that follows).

Run by tests/e2e/test_readme_path.py in its copy of the repository, and by .ci/run between the
README's two commands on its clean clone: `.venv/bin/python tests/e2e/readme_installation.py`
(standard library only; it inspects the interpreter that runs it).
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path


def problems() -> list[str]:
    """What is wrong with this interpreter's installation of naftiko-gen (empty: nothing)."""
    site = Path(sysconfig.get_path("purelib"))
    installed = site / "naftiko_gen"
    if not installed.is_dir():
        return [
            f"naftiko-gen is not installed as a package in {site} (the build command's install)"
        ]
    records = list(site.glob("naftiko_gen-*.dist-info/RECORD"))
    if len(records) != 1:
        return [f"expected one naftiko_gen RECORD in {site}, found {len(records)}"]
    recorded = {line.split(",", 1)[0] for line in records[0].read_text().splitlines()}
    on_disk = {p.relative_to(site).as_posix() for p in installed.rglob("*") if p.is_file()}
    found = [f"written into the installation: {rel}" for rel in sorted(on_disk - recorded)]
    if "naftiko_gen/templates/_compiled/manifest.json" not in recorded:
        found.append("the wheel has no precompiled templates (naftiko_gen/templates/_compiled)")
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    if not found:
        print("naftiko-gen installation: nothing written into it, precompiled templates present")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
