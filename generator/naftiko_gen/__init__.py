"""naftiko-gen: Naftiko capability specs in, static aiohttp REST and MCP servers out."""

__version__ = "0.1.0"
