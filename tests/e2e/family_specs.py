"""Specs of a family for the tests: N small capabilities written from one template, with
colliding tool names and routes (cheap to build, nothing vendored)."""

from __future__ import annotations

from pathlib import Path

TEMPLATE = """\
naftiko: "1.0.0-alpha2"
info:
  label: "Family member {n}"
  description: "Member {n} of a family: one shared tool name, one of its own."
  tags: [family, {parity}]
capability:
  consumes:
    - type: http
      namespace: shelf
      baseUri: "https://shelf.example.invalid"
      resources:
        - name: item
          path: "/{cap}/items/{{{{id}}}}"
          operations:
            - name: get-item
              method: GET
  exposes:
    - type: rest
      port: 8080
      namespace: {cap}-rest
      resources:
        - path: "/v1/{cap}/items/{{id}}"
          operations:
            - method: GET
              call: shelf.get-item
{shared_route}    - type: mcp
      port: 9090
      namespace: {cap}-mcp
      tools:
        - name: get-item
          description: "An item of {cap} (a name every member declares)"
          inputParameters:
            - name: id
              type: string
              description: Item id
          call: shelf.get-item
        - name: {cap}-info
          description: "An item of {cap} (a name of its own)"
          inputParameters:
            - name: id
              type: string
              description: Item id
          call: shelf.get-item
"""
# Declared by the first two members only: their routes collide, so both go under /<capability>.
SHARED_ROUTE = """\
        - path: "/v1/items/{id}"
          operations:
            - method: GET
              call: shelf.get-item
"""


def cap(n: int) -> str:
    return f"cap{n:02d}"


def write_family(folder: Path, count: int, colliding: int = 2) -> list[str]:
    """`count` specs in `folder` (cap01.yaml ...); the capability (package) names."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for n in range(1, count + 1):
        text = TEMPLATE.format(
            n=n,
            cap=cap(n),
            parity="odd" if n % 2 else "even",
            shared_route=SHARED_ROUTE if n <= colliding else "",
        )
        (folder / f"{cap(n)}.yaml").write_text(text, encoding="utf-8")
        names.append(cap(n))
    return names
