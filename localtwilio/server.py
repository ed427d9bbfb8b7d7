"""Serve a WSGI app (the REST stand-in, or a test app) on a real local port in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from werkzeug.serving import make_server


def serve_in_thread(app: Any, host: str = "127.0.0.1",
                    port: int = 0) -> tuple[str, Callable[[], None]]:
    """Start `app` on `host:port` (0 = any free port); return (base_url, stop)."""
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"serve-{server.port}", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{server.port}", stop
