"""The upstream API behind tests/protocol/protocol-capability.yaml, as a process of its own.

Run: python tests/protocol/protocol_upstream.py
Prints the base URL (``http://127.0.0.1:<port>``) on one line, then serves until killed:

* ``GET /non-finite``: ``{"ok": 1, "nan": NaN, "inf": Infinity, "ninf": -Infinity,
  "deep": [NaN]}`` as application/json: Python's and JavaScript's lax encoders write this,
  and it is not JSON (RFC 8259 has no such numbers);
* ``POST /sink``: checks the body is a JSON object whose ``text`` is a string and answers
  ``{"received": <its length>}`` (400 otherwise);
* anything else: 404.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NON_FINITE = b'{"ok": 1, "nan": NaN, "inf": Infinity, "ninf": -Infinity, "deep": [NaN]}'


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.split("?", 1)[0] == "/non-finite":
            self._send(200, NON_FINITE)
        else:
            self._send(404, b'{"error": "not found"}')

    def do_POST(self) -> None:  # noqa: N802
        if self.path.split("?", 1)[0] != "/sink":
            self._send(404, b'{"error": "not found"}')
            return
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            text = json.loads(raw)["text"]
        except (ValueError, KeyError, TypeError):
            self._send(400, b'{"error": "expected a JSON object with a text field"}')
            return
        if not isinstance(text, str):
            self._send(400, b'{"error": "text must be a string"}')
            return
        self._send(200, json.dumps({"received": len(text)}).encode())

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
