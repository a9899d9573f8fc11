"""Typed model → plan: resolution (may fail, with located diagnostics) into typed plan data.

- planner.py: make_plan, the stage's entry point

- consumed.py: consumed operations → upstream functions (path, parameters, body, auth)
- wiring.py: exposed operations and tools → inputs and the upstream call (`with`)
- outputs.py: outputParameters → output expressions
- adapters.py: REST and MCP adapters → planned servers
- openapi.py: the OpenAPI document of a planned REST server
- layout.py: the package a plan becomes (modules, runtime modules, requirements, mcp.json)
- ir.py: the plan itself; naftiko_gen.render turns it into text with templates/
"""
