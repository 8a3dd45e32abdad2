#!/usr/bin/env python3
"""A hostile peer for tests: an HTTP server on 127.0.0.1 whose every answer
is poison of one kind. Prints its URL, then serves until killed or for at
most --lifetime seconds.

  hostile.py deep         JSON nested 200,000 levels deep
  hostile.py huge-number  JSON holding 1e400 wherever a number goes
  hostile.py missing-int  PUT /tracks/... -> 201 {"missing":[1]}
  hostile.py endless      200 with a chunked body that never ends
"""
import argparse
import http.server
import socketserver
import sys
import threading
import time

DEEP = b"[" * 200000 + b"]" * 200000
HUGE = (b'{"schema":"digm.pong/1","node_id":1e400,"peer":{"seen":1e400},'
        b'"peers":[{"seen":1e400}],"size":1e400,"chunks":[{"size":1e400}],'
        b'"digest":1e400,"missing":[1e400]}')


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mode = "deep"

    def log_message(self, *args):
        pass

    def answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.mode == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            block = b"[1," * 21845 + b"1"
            try:
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            except OSError:
                return
        if self.mode == "missing-int":
            status, body = (201, b'{"root":"x","missing":[1]}') if self.command == "PUT" \
                else (404, b'{"error":"no"}')
        else:
            status, body = 200, DEEP if self.mode == "deep" else HUGE
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    do_GET = do_POST = do_PUT = answer


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["deep", "huge-number", "missing-int", "endless"])
    p.add_argument("--lifetime", type=float, default=120)
    a = p.parse_args()
    Handler.mode = a.mode
    server = Server(("127.0.0.1", 0), Handler)
    print("http://127.0.0.1:%d" % server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    time.sleep(a.lifetime)
    sys.exit(0)


if __name__ == "__main__":
    main()
