#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of a ClickHouse server, for tests.

chproxy.py PORT TARGET_PORT MODE [N]
  drop-insert N    forwards everything, but of the first N INSERTs it drops
                   the answer after ClickHouse gave it (the rows are in: the
                   client sees the connection close, as after a time-out)
  garbage-after N  forwards the first N requests, then answers every one
                   with a page that is not ClickHouse's
  garbage          answers every request with such a page (N ignored)
Writes PORT to stdout once listening."""
import http.client
import http.server
import socketserver
import sys

port, target, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
limit = int(sys.argv[4]) if len(sys.argv) > 4 else 0
state = {"inserts": 0, "requests": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def garbage(self):
        body = b"<html><body>It works!</body></html>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, body):
        conn = http.client.HTTPConnection("127.0.0.1", target, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp, data

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        state["requests"] += 1
        if mode == "garbage" or (mode == "garbage-after" and state["requests"] > limit):
            return self.garbage()
        resp, data = self.forward(body)
        if mode == "drop-insert" and "INSERT" in self.path.upper():
            state["inserts"] += 1
            if state["inserts"] <= limit:
                self.close_connection = True
                return  # ClickHouse has the rows; the client gets no answer
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = handle_any


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


srv = Server(("127.0.0.1", port), Handler)
print(port, flush=True)
srv.serve_forever()
