"""The start of a program for `privlab capture --host-command`: a local origin server, and the proxy's
address from the environment, so the program can send raw bytes (any byte, any header) over a socket.

`ORIGIN + "...loop..."` is the whole program; it has `port` (the origin) and `host`, `pport` (the proxy).
"""

ORIGIN = """
import contextlib, os, socket, threading, time, http.server
class H(http.server.BaseHTTPRequestHandler):
    def _ok(self):
        self.rfile.read(int(self.headers.get('content-length') or 0))
        self.send_response(200); self.send_header('Content-Length', '2'); self.end_headers(); self.wfile.write(b'ok')
    do_GET = do_POST = _ok
    def log_message(self, *a): return None
srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
port = srv.server_address[1]
host, pport = os.environ['PRIVLAB_PROXY'].removeprefix('http://').rsplit(':', 1)
"""
