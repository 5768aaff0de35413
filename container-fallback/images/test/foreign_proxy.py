#!/usr/bin/env python3
"""Another vendor's action proxy, for shoal's tests: it answers `/init` and `/run` as any
OpenWhisk proxy does, but prints no log sentinels (as many blackbox images do not) and its
image carries no `shoal.log-sentinels` label. `/run` logs one line and answers with the
container's host name and how many runs it served. With FOREIGN_INIT_STATUS=503, `/init`
answers "shutting down" instead."""

import json
import os
import socket
from http.server import BaseHTTPRequestHandler, HTTPServer

INIT_STATUS = int(os.environ.get("FOREIGN_INIT_STATUS", "200"))
served = []


class Foreign(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path == "/init":
            status = INIT_STATUS
            reply = b"shutting down" if status == 503 else b"{}"
        else:
            served.append(self.path)
            print(f"foreign run {len(served)}", flush=True)
            status = 200
            reply = json.dumps({"host": socket.gethostname(), "runs": len(served)}).encode()
        self.send_response(status)
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *_):
        """No request lines in the action's logs."""


HTTPServer(("0.0.0.0", 8080), Foreign).serve_forever()
