"""Cacheable aggregate functions (feat_cache.yaml): a second identical call is answered without an
upstream request (REST and MCP), an upstream's `no-store` (or `private`, `no-cache`) is obeyed,
its `max-age` bounds the entry's life, REST answers say how fresh they are, concurrent identical
misses make one upstream call, hits and misses are counted (/metrics), and servers given one
real `redis-server` share their entries, and still answer when it stops.

Every test uses inputs of its own: the servers (started once for the module) keep their entries.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path

import pytest

from tests.features.upstream import (
    FIXTURES,
    Bearer,
    Built,
    FakeUpstream,
    Harness,
    Stack,
    mcp_json,
    rest_call,
)
from tests.support import judge_missing, serve_aiohttp

pytestmark = pytest.mark.anyio

SPEC = FIXTURES / "feat_cache.yaml"
TOKEN = "weather-t0ken"
STACK = Stack(
    SPEC,
    lambda: {"WEATHER": FakeUpstream(auth=Bearer(TOKEN), name="weather")},
    env={"WEATHER_TOKEN": TOKEN},
    base_paths={"WEATHER": "/v1"},
)


def _forecast(h: Harness, city: str, delay: float = 0.0) -> dict[str, object]:
    """The upstream's forecast of `city` (answered after `delay` s); what callers get."""
    h.fake.expect("GET", f"/v1/forecast/{city}", reply={"city": city, "temp": 3.5}, delay=delay)
    return {"city": city, "celsius": 3.5}


def _upstream_calls(h: Harness, path: str) -> int:
    seen = [r for r in h.fake.requests if r.raw_path == path]
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" and not r.problems for r in seen)
    return len(seen)


def _max_age(cache_control: str) -> int:
    directives = dict(d.strip().partition("=")[::2] for d in cache_control.split(","))
    return int(directives["max-age"])


async def test_rest_second_identical_call_is_served_without_upstream(h: Harness) -> None:
    expected = _forecast(h, "Oslo")
    first = await h.rest("GET", "/forecast?city=Oslo")
    second = await h.rest("GET", "/forecast?city=Oslo")
    assert first.status == second.status == 200, (first.text, second.text)
    assert first.json == second.json == expected
    assert _upstream_calls(h, "/v1/forecast/Oslo") == 1
    # The answer that filled the entry, then the kept one: Age grows, max-age shrinks to match.
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert first.headers["Age"] == "0"
    assert second.headers["Cache-Control"].startswith("public, max-age=")
    # However slow this machine is: whole seconds of age plus seconds left make the TTL.
    assert int(second.headers["Age"]) + _max_age(second.headers["Cache-Control"]) == 60
    # Other inputs, and a function that is not cacheable over the same upstream, go upstream.
    await h.rest("GET", "/forecast?city=Oslo&unused=1")  # not an input: the same key
    assert _upstream_calls(h, "/v1/forecast/Oslo") == 1
    plain = [await h.rest("GET", "/uncached?city=Oslo") for _ in range(2)]
    assert [p.json for p in plain] == [{"city": "Oslo", "temp": 3.5}] * 2
    assert "Cache-Control" not in plain[1].headers
    assert _upstream_calls(h, "/v1/forecast/Oslo") == 3
    other = _forecast(h, "Bergen")
    assert (await h.rest("GET", "/forecast?city=Bergen")).json == other
    assert _upstream_calls(h, "/v1/forecast/Bergen") == 1


async def test_mcp_second_identical_call_is_identical_without_upstream(h: Harness) -> None:
    expected = _forecast(h, "Tromso")
    first = await h.tool("forecast", {"city": "Tromso"})
    second = await h.tool("forecast", {"city": "Tromso"})
    assert mcp_json(first) == mcp_json(second) == expected
    assert first.structured_content == second.structured_content == expected
    assert _upstream_calls(h, "/v1/forecast/Tromso") == 1


@pytest.mark.parametrize("directive", ["no-store", "private, max-age=600", "no-cache"])
async def test_an_upstream_that_forbids_keeping_is_obeyed(h: Harness, directive: str) -> None:
    city = "Live-" + directive.partition(",")[0]
    reading = {"city": city, "wind": 7}
    h.fake.expect(
        "GET", f"/v1/live/{city}", reply=reading, reply_headers={"Cache-Control": directive}
    )
    for _ in range(2):
        got = await h.rest("GET", f"/live?city={city}")
        assert got.status == 200 and got.json == reading
        assert got.headers["Cache-Control"] == "no-store"  # callers' caches told the same
        assert mcp_json(await h.tool("live", {"city": city})) == reading
    assert _upstream_calls(h, f"/v1/live/{city}") == 4  # two REST calls, two tool calls


async def test_upstream_max_age_bounds_the_entry(h: Harness) -> None:
    reading = {"city": "Narvik", "wind": 3}
    h.fake.expect(
        "GET",
        "/v1/live/Narvik",
        reply=reading,
        reply_headers={"Cache-Control": "public, max-age=5"},
    )
    first = await h.rest("GET", "/live?city=Narvik")
    second = await h.rest("GET", "/live?city=Narvik")
    assert first.json == second.json == reading
    assert first.headers["Cache-Control"] == "public, max-age=5"
    assert _max_age(second.headers["Cache-Control"]) <= 5
    assert _upstream_calls(h, "/v1/live/Narvik") == 1


async def test_error_answers_are_not_kept(h: Harness) -> None:
    h.fake.expect("GET", "/v1/forecast/Atlantis", status=503, reply={"down": True})
    for _ in range(2):
        got = await h.rest("GET", "/forecast?city=Atlantis")
        assert got.status == 503 and "Cache-Control" not in got.headers
    assert _upstream_calls(h, "/v1/forecast/Atlantis") == 2


async def test_concurrent_identical_misses_make_one_upstream_call(h: Harness) -> None:
    expected = _forecast(h, "Paris", delay=0.3)  # all eight arrive while the first is in flight
    answers = await asyncio.gather(*(h.rest("GET", "/forecast?city=Paris") for _ in range(8)))
    assert [a.json for a in answers] == [expected] * 8
    assert _upstream_calls(h, "/v1/forecast/Paris") == 1


async def test_hits_and_misses_are_counted_in_metrics(h: Harness, built: Built) -> None:
    assert built.rest is not None
    metrics = built.rest._metrics  # the control adapter's counters, shared by both servers
    before = dict(metrics.CACHE.counts)
    expected = _forecast(h, "Reykjavik")
    for _ in range(3):
        assert mcp_json(await h.tool("forecast", {"city": "Reykjavik"})) == expected
    counts = metrics.CACHE.counts
    key = "weather-fns.forecast"
    assert counts[(key, "miss")] - before.get((key, "miss"), 0) == 1
    assert counts[(key, "hit")] - before.get((key, "hit"), 0) == 2
    text = metrics.exposition()
    assert f'naftiko_cache_lookups_total{{function="{key}",result="hit"}}' in text


async def test_bad_cache_settings_are_one_line_config_errors(built: Built) -> None:
    assert built.rest is not None
    env = {"WEATHER_TOKEN": TOKEN}
    for name, value, message in [
        ("NAFTIKO_CACHE_TTL", "soon", "NAFTIKO_CACHE_TTL must be a number, not 'soon'"),
        ("NAFTIKO_CACHE_SIZE", "1.5", "NAFTIKO_CACHE_SIZE must be a whole number"),
        ("NAFTIKO_CACHE_URL", "http://user:pw@cache:6379", "NAFTIKO_CACHE_URL must be a redis://"),
    ]:
        with pytest.raises(built.rest.rt.ConfigError) as caught:
            built.rest.create_app({**env, name: value})
        assert str(caught.value).startswith(message) and "pw" not in str(caught.value)


def test_scope_is_private_behind_caller_checks_and_nothing_ships_without_cacheable(
    tmp_path: Path,
) -> None:
    """A function exposed by an adapter that checks its callers is `private` (proxies must not
    hand its answers to others); a package without a cacheable function has no _cache.py and
    no Redis requirement."""
    from naftiko_gen.codegen import generate

    text = SPEC.read_text(encoding="utf-8")
    guarded = text.replace(
        "      namespace: api\n",
        "      namespace: api\n      authentication:\n        type: bearer\n"
        "        token: '{{WEATHER_TOKEN}}'\n",
    )
    plain = text.replace("            cacheable: true\n", "")
    assert guarded != text and plain.count("cacheable") == 0
    files = {}
    for name, spec in (("guarded", guarded), ("plain", plain)):
        (tmp_path / f"{name}.yaml").write_text(spec, encoding="utf-8")
        result = generate([tmp_path / f"{name}.yaml"], tmp_path / "out")
        assert not result.report.errors, [d.format() for d in result.report.errors]
        files[name] = result.files
    functions = files["guarded"]["guarded/functions.py"]
    assert '@_cache.cached("weather-fns.forecast", "private"' in functions
    assert "guarded/_cache.py" in files["guarded"]
    assert "redis>=5" in files["guarded"]["guarded/requirements.txt"]
    assert (
        "plain/_cache.py" not in files["plain"]
        and "_cache" not in files["plain"]["plain/functions.py"]
    )
    assert "redis" not in files["plain"]["plain/requirements.txt"]


# -- Redis: a real redis-server, on an ephemeral port ------------------------------------------


@contextmanager
def redis_server(tmp: Path, password: str = "") -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of its own (no persistence) in `tmp`; yields its URL and process."""
    binary = shutil.which("redis-server")
    if binary is None:
        judge_missing("redis-server is not installed here (apt-get install redis-server)")
    with socket.socket() as probe:  # a free port (redis-server cannot report one it picked)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    args += ["--dir", str(tmp), *(["--requirepass", password] if password else [])]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:  # ready once it accepts a connection
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None, "redis-server exited at start-up"
                assert time.monotonic() < deadline, "redis-server did not listen within 10 s"
                time.sleep(0.01)
        auth = f":{password}@" if password else ""
        yield f"redis://{auth}127.0.0.1:{port}/0", process
    finally:
        process.terminate()
        process.wait(5)


async def test_servers_sharing_redis_call_upstream_once(
    h: Harness, built: Built, tmp_path: Path
) -> None:
    assert built.rest is not None and built.mcp is not None
    from mcp import Client

    expected = _forecast(h, "Lima")
    with redis_server(tmp_path) as (url, _):
        env = {**os.environ, "NAFTIKO_CACHE_URL": url}  # the fakes' URLs, from the harness
        async with AsyncExitStack() as stack:
            rest_a = await stack.enter_async_context(serve_aiohttp(built.rest.create_app(env)))
            rest_b = await stack.enter_async_context(serve_aiohttp(built.rest.create_app(env)))
            mcp_c = await stack.enter_async_context(
                serve_aiohttp(built.mcp.create_app(environ=env))
            )
            first = await rest_call(rest_a, "GET", "/forecast?city=Lima")
            assert first.json == expected and _upstream_calls(h, "/v1/forecast/Lima") == 1
            second = await rest_call(rest_b, "GET", "/forecast?city=Lima")  # from Redis
            assert second.json == expected and second.headers["Cache-Control"].startswith("public")
            client = await stack.enter_async_context(Client(mcp_c + "/mcp"))
            assert mcp_json(await client.call_tool("forecast", {"city": "Lima"})) == expected
            assert _upstream_calls(h, "/v1/forecast/Lima") == 1


async def test_redis_stopped_mid_test_still_answers(
    h: Harness, built: Built, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert built.rest is not None
    password = "r3dis-s3cret"
    with redis_server(tmp_path, password) as (url, process):
        env = {**os.environ, "NAFTIKO_CACHE_URL": url}
        async with serve_aiohttp(built.rest.create_app(env)) as rest:
            quito = _forecast(h, "Quito")
            assert (await rest_call(rest, "GET", "/forecast?city=Quito")).json == quito
            process.terminate()
            process.wait(5)
            caplog.set_level(logging.WARNING, logger="naftiko.cache")
            for city in ("Kyiv", "Accra", "Kyiv"):  # the last from this process's own entries
                expected = _forecast(h, city)
                got = await rest_call(rest, "GET", f"/forecast?city={city}")
                assert got.status == 200 and got.json == expected, got.text
            assert (await rest_call(rest, "GET", "/forecast?city=Quito")).json == quito
    assert [_upstream_calls(h, f"/v1/forecast/{c}") for c in ("Quito", "Kyiv", "Accra")] == [
        1,
        1,
        1,
    ]
    warnings = [r for r in caplog.records if r.name == "naftiko.cache"]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage(), caplog.text
    assert password not in caplog.text
