"""Skills, driven by the engine's skill-capability.yaml (SkillIntegrationTest).

The fixture's skill `order-management` lives at the absolute `file:///tmp/naftiko-test-skills/
order-management`; the tests point that location at a folder of their own (the only change),
so parallel runs never share it:

* present: the folder is copied into the package at build time; /skills, /skills/{name} and
  /skills/{name}/contents answer as the engine's test asserts (each contents entry has `name`
  and `path`);
* missing: a located warning, and that skill only is left out; the rest of the spec is built.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from naftiko_gen.codegen import generate
from tests.engine.stack import ENGINE
from tests.support import build, serve_aiohttp

pytestmark = pytest.mark.anyio
WRITTEN = "file:///tmp/naftiko-test-skills/order-management"


def spec_with(folder: Path, out: Path) -> Path:
    text = (ENGINE / "skill-capability.yaml").read_text()
    assert text.count(WRITTEN) == 1
    spec = out / "skill-capability.yaml"
    spec.write_text(text.replace(WRITTEN, folder.as_uri()))
    return spec


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, json.loads(await response.read())


async def test_absolute_skill_folder_is_copied_and_served(tmp_path: Path) -> None:
    folder = tmp_path / "elsewhere" / "order-management"
    (folder / "notes").mkdir(parents=True)
    (folder / "order-guide.md").write_text("# Orders\nHow to work with orders.\n")
    (folder / "notes" / "overview.md").write_text("Overview\n")
    out = tmp_path / "out"
    package = build(spec_with(folder, tmp_path), out)
    copied = out / package / "skills" / "order-management"
    assert (copied / "order-guide.md").read_text() == "# Orders\nHow to work with orders.\n"
    sys.path.insert(0, str(out))
    try:
        module = importlib.import_module(f"{package}.skill_server")
    finally:
        sys.path.remove(str(out))
    async with serve_aiohttp(module.create_app()) as url:
        status, catalogue = await get(url + "/skills")
        _, detail = await get(url + "/skills/order-management")
        _, contents = await get(url + "/skills/order-management/contents")
        missing, _ = await get(url + "/skills/nope")
    assert status == 200 and catalogue["count"] == 2
    assert [s["name"] for s in catalogue["skills"]] == ["order-management", "onboarding-guide"]
    assert detail["allowed-tools"] == "list-orders"
    assert detail["argument-hint"] == "Use for order operations"
    derived, instruction = detail["tools"]
    assert derived["type"] == "derived" and derived["invocationRef"] == {
        "targetNamespace": "orders-rest", "action": "list-orders", "mode": "rest",
    }  # fmt: skip
    assert (instruction["type"], instruction["instruction"]) == ("instruction", "order-guide.md")
    files = {f["path"]: f for f in contents["files"]}
    assert {"order-guide.md", "notes/overview.md"} <= set(files)
    assert files["notes/overview.md"]["name"] == "overview.md"
    assert all(f["name"] and f["path"] for f in contents["files"])
    assert missing == 404


def test_missing_skill_folder_skips_that_skill(tmp_path: Path) -> None:
    spec = spec_with(tmp_path / "absent" / "order-management", tmp_path)
    result = generate([spec], tmp_path / "out")
    items = [d.format() for d in result.report.items]
    assert not result.report.errors, items
    warnings = [d for d in items if "naftiko-skill-location" in d]
    assert len(warnings) == 1 and "skill-capability.yaml:37:21: warning" in warnings[0], items
    assert "does not exist; it is skipped" in warnings[0]
    package = result.packages[0]
    paths = set(result.files)
    assert f"{package}/rest_server.py" in paths and f"{package}/skill_server.py" in paths
    assert not any("/skills/order-management/" in p for p in paths)
    assert f"{package}/skills/onboarding-guide/SKILL.md" in paths
