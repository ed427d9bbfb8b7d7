"""Faults on throwaway services (no tests here): a TCP proxy that can be cut.

The shared PostgreSQL and Redis servers are never stopped; a test that needs the database
"away" points the app at a `CuttableProxy` in front of it and cuts that: every open
connection is dropped and new ones are closed at once, as when the server restarts.
"""

from __future__ import annotations

import socket
import threading
from contextlib import suppress


class CuttableProxy:
    """Forwards 127.0.0.1:<port> to a target address until cut; `restore` reopens it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        self.cut_off = threading.Event()
        self.refused = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_off.is_set():
                self.refused += 1
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for end in (source, sink):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
            with self._lock:
                self._open.discard(end)

    def cut(self) -> None:
        """Drop every connection and refuse new ones (the server is away)."""
        self.cut_off.set()
        with self._lock:
            ends, self._open = list(self._open), set()
        for end in ends:
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def restore(self) -> None:
        """Let connections through again (the server is back)."""
        self.cut_off.clear()

    def restore_after(self, seconds: float) -> threading.Timer:
        """Come back in `seconds` (a brief outage)."""
        timer = threading.Timer(seconds, self.restore)
        timer.start()
        return timer

    def close(self) -> None:
        self._closed = True
        self.cut()
        with suppress(OSError):
            self.listener.close()


def via_proxy(url: str, proxy: CuttableProxy) -> str:
    """A database URL on 127.0.0.1:5432 rewritten to go through `proxy`."""
    host = f"{proxy.target[0]}:{proxy.target[1]}"
    assert host in url, url
    return url.replace(host, f"127.0.0.1:{proxy.port}")
