"""Several consumes in one capability: each call goes to its own upstream, with its own base
URI (overridable by <NS>_BASE_URL) and its own authentication, and nothing leaks across."""

from __future__ import annotations

from typing import Any

import pytest

from tests.features.upstream import (
    FIXTURES,
    ApiKeyHeader,
    Bearer,
    FakeUpstream,
    Harness,
    Stack,
    harness,
    mcp_json,
)

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_multi_consumes.yaml"
TOKEN = "wx-token-81f"
GEO_KEY = "geo-key-4c2"
SECRETS = {"FEAT_MULTI_WEATHER_TOKEN": TOKEN, "FEAT_MULTI_GEO_KEY": GEO_KEY}


STACK = Stack(
    SPEC,
    lambda: {
        "WEATHER": FakeUpstream(Bearer(TOKEN), name="weather"),
        "GEO": FakeUpstream(ApiKeyHeader("X-Geo-Key", GEO_KEY), name="geo"),
        "SEA_TIDES": FakeUpstream(name="tides"),
    },
    env=SECRETS,
    base_paths={"WEATHER": "/v1", "SEA_TIDES": "/api"},
)


def _only_one_upstream_called(h: Harness, name: str) -> Any:
    for prefix, fake in h.fakes.items():
        if prefix != name:
            assert fake.requests == [], f"{prefix} was called"
    return h.fakes[name].only()


async def test_weather_bearer(h: Harness) -> None:
    reply = {"city": "Brest", "temp": 14}
    h.fakes["WEATHER"].expect("GET", "/v1/forecast/Brest", query=[], reply=reply)
    got = await h.rest("GET", "/forecast/Brest")
    seen = _only_one_upstream_called(h, "WEATHER")
    assert seen.headers.getall("Authorization") == [f"Bearer {TOKEN}"]
    assert "X-Geo-Key" not in seen.headers
    assert got.json == reply
    h.reset()
    h.fakes["WEATHER"].expect("GET", "/v1/forecast/Brest", query=[], reply=reply)
    assert mcp_json(await h.tool("forecast", {"city": "Brest"})) == reply
    assert _only_one_upstream_called(h, "WEATHER").raw_path == "/v1/forecast/Brest"


async def test_geo_apikey(h: Harness) -> None:
    reply = [{"name": "Brest", "lat": 48.39}]
    h.fakes["GEO"].expect("GET", "/places", query=[("name", "Brest")], reply=reply)
    got = await h.rest("GET", "/places?name=Brest")
    seen = _only_one_upstream_called(h, "GEO")
    assert seen.headers.getall("X-Geo-Key") == [GEO_KEY]
    assert "Authorization" not in seen.headers
    assert got.json == reply
    h.reset()
    h.fakes["GEO"].expect("GET", "/places", query=[("name", "Brest")], reply=reply)
    assert mcp_json(await h.tool("find-place", {"name": "Brest"})) == reply
    _only_one_upstream_called(h, "GEO")


async def test_tides_no_auth_hyphenated_namespace(h: Harness) -> None:
    reply = {"station": "BRE", "high": "06:12"}
    h.fakes["SEA_TIDES"].expect("GET", "/api/stations/BRE/tides", query=[], reply=reply)
    got = await h.rest("GET", "/tides/BRE")
    seen = _only_one_upstream_called(h, "SEA_TIDES")
    assert "Authorization" not in seen.headers and "X-Geo-Key" not in seen.headers
    assert got.json == reply
    h.reset()
    h.fakes["SEA_TIDES"].expect("GET", "/api/stations/BRE/tides", query=[], reply=reply)
    assert mcp_json(await h.tool("tides", {"station": "BRE"})) == reply
    _only_one_upstream_called(h, "SEA_TIDES")


def test_each_namespace_has_its_own_base_url_and_timeout(built: Any) -> None:
    upstream = built.rest.upstream
    config = upstream.load_config(
        environ={**SECRETS, "GEO_BASE_URL": "http://127.0.0.1:1/x", "SEA_TIDES_TIMEOUT": "2.5"}
    )
    assert {ns: s.base_url for ns, s in config.upstreams.items()} == {
        "weather": "https://weather.example.invalid/v1",
        "geo": "http://127.0.0.1:1/x",
        "sea-tides": "https://tides.example.invalid/api",
    }
    timeouts = {ns: s.timeout for ns, s in config.upstreams.items()}
    assert timeouts["sea-tides"] == 2.5
    assert timeouts["weather"] == timeouts["geo"] != 2.5
    assert sorted(config.secrets.values()) == sorted([TOKEN, GEO_KEY])


async def test_timeout_is_per_namespace(built: Any) -> None:
    """SEA_TIDES_TIMEOUT bounds only the tides upstream: a slow answer there is a 504 (MCP:
    an error result), while the weather upstream (own timeout) still answers."""
    fakes = {
        "WEATHER": FakeUpstream(Bearer(TOKEN), name="weather"),
        "GEO": FakeUpstream(ApiKeyHeader("X-Geo-Key", GEO_KEY), name="geo"),
        "SEA_TIDES": FakeUpstream(name="tides"),
    }
    fakes["SEA_TIDES"].expect("GET", "/stations/BRE/tides", reply={}, delay=1.0)
    fakes["WEATHER"].expect("GET", "/forecast/Brest", reply={"t": 1}, delay=0.4)
    async with harness(built, fakes, env={**SECRETS, "SEA_TIDES_TIMEOUT": "0.2"}) as h:
        got = await h.rest("GET", "/tides/BRE")
        assert got.status == 504
        assert "sea-tides" in got.json["error"]
        result = await h.tool("tides", {"station": "BRE"})
        assert result.is_error
        assert "504" in result.content[0].text or "time" in result.content[0].text
        assert (await h.rest("GET", "/forecast/Brest")).json == {"t": 1}


async def test_unreachable_upstream_is_502(built: Any) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GEO_BASE_URL", "http://127.0.0.1:9")  # discard port: nothing listens
        fakes = {"WEATHER": FakeUpstream(name="weather")}
        async with harness(built, fakes, env=SECRETS) as h:
            got = await h.rest("GET", "/places?name=x")
            assert got.status == 502
            assert "geo" in got.json["error"]
            result = await h.tool("find-place", {"name": "x"})
            assert result.is_error
