"""Running the gateway: ``hastexo-lab terminal`` (uvicorn, in the foreground),
and uvicorn in a thread for the demo and the tests."""

import asyncio
import logging
import threading

from .limits import MAX_MESSAGE

log = logging.getLogger(__name__)


def config(app, host, port, **options):
    """uvicorn's settings for the gateway.

    This WebSocket implementation stops reading a socket until the
    application has taken the message it read, which is what lets the
    gateway push back on a learner who sends faster than the lab reads.
    Compression is off: every message that one read of the socket brings is
    inflated at once, before the application sees any, and a few hundred
    kilobytes of compressed zeros inflate to hundreds of megabytes. A
    message up to four times MAX_MESSAGE is read whole and answered
    ``too-large``; a longer one closes the socket (1009).
    """
    import uvicorn
    return uvicorn.Config(app, host=host, port=port, ws="websockets-sansio", lifespan="on", log_config=None,
                          proxy_headers=True, ws_max_size=4 * MAX_MESSAGE, ws_per_message_deflate=False,
                          ws_ping_interval=20, ws_ping_timeout=20, **options)


class Background:
    """uvicorn serving ``app`` from a thread; ``port`` is the one it bound."""

    def __init__(self, app, host="127.0.0.1", port=0, **options):
        import uvicorn
        self.server = uvicorn.Server(config(app, host, port, **options))
        self.server.install_signal_handlers = lambda: None  # the thread's owner handles signals
        self.thread = threading.Thread(target=self._run, name="terminal-gateway", daemon=True)
        self.host = host

    def _run(self):
        asyncio.run(self.server.serve())

    def start(self, timeout=10.0):
        self.thread.start()
        waited = 0.0
        while not self.server.started:
            if not self.thread.is_alive() or waited > timeout:
                raise RuntimeError("the terminal gateway did not start (is its port free?)")
            threading.Event().wait(0.02)
            waited += 0.02
        return self

    @property
    def port(self):
        return self.server.servers[0].sockets[0].getsockname()[1]

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def run(host, port, root=None):
    """Serve the gateway in the foreground until interrupted."""
    import uvicorn

    from .gateway import Gateway
    app = Gateway.from_settings(**({"root": root} if root else {}))
    log.warning("terminal gateway on http://%s:%s%s", host, port, app.root)
    uvicorn.Server(config(app, host, port)).run()
    return 0
