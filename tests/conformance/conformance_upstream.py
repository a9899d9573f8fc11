"""The upstream API behind tests/conformance/conformance-capability.yaml, as a process of its own.

Run: python tests/conformance/conformance_upstream.py
Prints the base URL (``http://127.0.0.1:<port>``) on one line, then serves until killed:

* ``GET /static-text``: the text the suite's resources-read-text scenario expects (text/plain);
* ``GET /template/{id}/data``: ``{"id": id, "templateTest": true, "data": "Data for ID: id"}``;
* ``GET /failure``: HTTP 500 with a JSON problem (the tools-call-error scenario's tool);
* anything else: 404.
"""

from __future__ import annotations

import json
import re
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

STATIC_TEXT = "This is the content of the static text resource."
TEMPLATE = re.compile(r"^/template/([^/]+)/data$")


class Handler(BaseHTTPRequestHandler):
    def _send(self, status: int, content_type: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        found = TEMPLATE.match(path)
        if path == "/static-text":
            self._send(200, "text/plain; charset=utf-8", STATIC_TEXT)
        elif found is not None:
            ident = unquote(found.group(1))
            body = {"id": ident, "templateTest": True, "data": f"Data for ID: {ident}"}
            self._send(200, "application/json", json.dumps(body))
        elif path == "/failure":
            problem = {"error": "This tool intentionally returns an error for testing"}
            self._send(500, "application/json", json.dumps(problem))
        else:
            self._send(404, "application/json", json.dumps({"error": "not found"}))

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
