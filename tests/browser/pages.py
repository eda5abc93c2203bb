"""A web site of its own origin for browser tests: the pages a stranger, a
lab page or the MFE's unit frame would serve, next to the block's and the
gateway's."""

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@contextmanager
def site(pages, name="127.0.0.1"):
    """Serve ``pages`` ({path: function(query) -> HTML text}, the query as
    parse_qs gives it) on a port of its own; yields the site's origin, with
    ``name`` as its host name. Any other path is 404."""

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            url = urlsplit(self.path)
            if url.path not in pages:
                self.send_error(404)
                return
            body = pages[url.path](parse_qs(url.query)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{name}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
