"""Node tree → typed model, one module per spec section. Lenient where real specs deviate from the
schema: warn and go on.

common.py        the Reader context (report, typed accessors), the schema's keys per object (a table)
binds.py         binds
consumes.py      consumes adapters, resources, operations, parameters, bodies, imports
auth.py          authentication blocks
exposes_rest.py  rest adapters, resources, operations
exposes_mcp.py   mcp adapters, tools
callables.py     what operations and tools share: inputs, call, with
outputs.py       outputParameters
capability.py    the document; read_capability, the stage's entry point
"""
