"""The Ikanos engine's own beta5 fixtures (vendored in tests/fixtures/ikanos-beta5, see its
ATTRIBUTION.md) build, and every server of every built package starts.

Each capability in the folder (not the shared consumes, binds and exposes files they import) is
either built and started — each `*_server.py` module as a subprocess, with a placeholder for every
variable its spec names, until it prints its listening line — or refused with the located error
listed in REFUSED: the engine's negative fixtures (written to trigger one of its rules) and the
features naftiko-gen does not have (docs/versions.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from naftiko_gen.codegen import generate, validate
from naftiko_gen.degrade import SKIPPED
from tests.server_process import READY, placeholder_env, server_args, start_until_ready
from tests.support import FIXTURES, build

pytestmark = pytest.mark.slow

BETA5 = FIXTURES / "ikanos-beta5"
CAPABILITIES = sorted(
    p
    for p in BETA5.rglob("*")
    if p.suffix in (".yaml", ".yml") and re.search(r"^capability:", p.read_text("utf-8"), re.MULTILINE)
)

# fixture → (a rule of its errors, why)
NEGATIVE = "the engine's negative fixture (it says 'Should trigger')"
REFUSED: dict[str, tuple[str, str]] = {
    "ikanos-engine/aggregates/aggregate-invalid-ref.yaml": ("naftiko-ref-resolves", NEGATIVE),
    "ikanos-spec/imports/aggregate-duplicate-function-name.yaml": (
        "naftiko-call-resolves",
        NEGATIVE,
    ),
    "ikanos-spec/imports/capability-aggregates-namespace-missing.yaml": (
        "naftiko-schema-required",
        NEGATIVE,
    ),
    "ikanos-spec/imports/capability-exposes-namespace-missing.yaml": (
        "naftiko-schema-required",
        NEGATIVE,
    ),
    "ikanos-spec/imports/import-duplicate-alias.yaml": ("naftiko-import-not-found", NEGATIVE),
    "ikanos-spec/imports/import-from-self.yaml": ("naftiko-import-not-found", NEGATIVE),
    "ikanos-spec/imports/import-missing-fields.yaml": ("naftiko-schema-required", NEGATIVE),
    # tunnels have no equivalent: the adapter is refused (these specs expose nothing else)
    "ikanos-spec/rules/spectral-tunnel-fallback-direct-public.yaml": (
        "naftiko-version-tunnel",
        "tunnel",
    ),
    "ikanos-spec/rules/spectral-tunnel-identity-bound.yaml": ("naftiko-version-tunnel", "tunnel"),
    "ikanos-spec/rules/spectral-tunnel-identity-unbound.yaml": (
        "naftiko-version-tunnel",
        "tunnel",
    ),
    # avro and protobuf need the outputSchema the schema requires for them; these fixtures have
    # none (the engine's tests supply one in code): a located build error here
    "ikanos-engine/formats/avro-capability.yaml": ("naftiko-output-schema", "avro schema file"),
    "ikanos-engine/formats/proto-capability.yaml": ("naftiko-output-schema", "protobuf schema file"),
}

# The engine's repository has no bind file beside these two; the tutorial's holds the same keys.
# A deployment names it the same way (the server's start-up error says so).
TUTORIAL_SECRETS = BETA5 / "ikanos-engine" / "tutorial" / "shared" / "secrets.yaml"
EXTRA_ENV = {
    "ikanos-spec/capabilities/capability-valid.yml": {
        "NAFTIKO_BIND_REGISTRY_ENV_FILE": str(TUTORIAL_SECRETS)
    },
    "ikanos-spec/capabilities/capability-spurious-name.yml": {
        "NAFTIKO_BIND_REGISTRY_ENV_FILE": str(TUTORIAL_SECRETS)
    },
}


def _name(spec: Path) -> str:
    return spec.relative_to(BETA5).as_posix()


def test_the_fixtures_are_there() -> None:
    """The vendored set is the engine's (59 capabilities at the commit ATTRIBUTION.md names)."""
    assert len(CAPABILITIES) == 59
    assert (BETA5 / "LICENSE.md").is_file() and (BETA5 / "ATTRIBUTION.md").is_file()
    assert not set(REFUSED) - {_name(p) for p in CAPABILITIES}, "REFUSED names a missing file"


@pytest.mark.parametrize("spec", CAPABILITIES, ids=_name)
def test_beta5_fixture_builds_and_its_servers_start(spec: Path, tmp_path: Path) -> None:
    refused = REFUSED.get(_name(spec))
    if refused is not None:
        report = generate([spec], tmp_path).report
        rule, why = refused
        errors = report.errors
        assert errors, f"{_name(spec)} builds now; remove it from REFUSED ({why})"
        skipped = [d.skip.rule for d in report.items if d.rule == SKIPPED and d.skip]
        assert rule in {d.rule for d in errors} | set(skipped), [d.format() for d in errors]
        for d in errors:  # located: a file of the fixture set and a line in it
            assert Path(d.pos.file).resolve().is_relative_to(BETA5.resolve()) and d.pos.line >= 1
        return
    package = build(spec, tmp_path)
    notes = {d.rule for d in validate([spec])[0].notes}
    assert "naftiko-version-ikanos" in notes  # validate says which version it read
    env = placeholder_env(spec) | EXTRA_ENV.get(_name(spec), {})
    servers = sorted((tmp_path / package).glob("*_server.py"))
    assert servers, "the spec builds servers"
    for module in servers:
        code, stderr = start_until_ready(
            f"{package}.{module.stem}", server_args(module), tmp_path, env
        )
        assert code is None and READY.search(stderr), f"{module.name} did not start\n{stderr}"
