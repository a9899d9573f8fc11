"""FastMCP 4.x ``FastMCP.from_openapi`` over the seed's 8 Qovery operations, for bench_mcp.py.

Run: QOVERY_API_KEY=... QOVERY_CONTAINERS_BASE_URL=... \
     python bench/fastmcp_server.py --spec SUBSET.json --port P

SUBSET.json is what ``python bench/qovery_subset.py`` prints. Served as FastMCP documents it:
``http_app(path="/mcp", stateless_http=True, json_response=True)`` under uvicorn with its
defaults, the same transport mode as the generated server. The upstream client is an
``httpx2.AsyncClient`` with the bearer token, as FastMCP's documentation shows.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def main() -> None:
    parser = argparse.ArgumentParser(description="FastMCP.from_openapi Qovery server")
    parser.add_argument("--spec", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9091)
    args = parser.parse_args()
    token = os.environ.get("QOVERY_API_KEY")
    if not token:
        sys.exit("QOVERY_API_KEY is not set")
    base = os.environ.get("QOVERY_CONTAINERS_BASE_URL", "https://api.qovery.com")

    import httpx2
    import uvicorn
    from fastmcp import FastMCP

    with open(args.spec, encoding="utf-8") as f:
        spec = json.load(f)
    client = httpx2.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30.0
    )
    mcp = FastMCP.from_openapi(spec, client=client, name="qovery-containers-fastmcp")
    app = mcp.http_app(path="/mcp", stateless_http=True, json_response=True)
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
