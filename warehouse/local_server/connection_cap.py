"""A bound on the open connections of each of the local server's listeners, as ClickHouse's
``max_connections`` (4096): past it a new connection is closed at once, so a flood of idle or
unauthenticated connections cannot grow the server by a thread (and its buffers) each.
"""

from __future__ import annotations

import threading

MAX_CONNECTIONS = 4096


class ConnectionCap:
    """Mixin for a threading ``socketserver`` server (before it in the bases)."""

    max_connections = MAX_CONNECTIONS
    _connections = 0
    _cap_lock = threading.Lock()  # one for all listeners: taken twice per connection

    def process_request(self, request, client_address) -> None:
        with self._cap_lock:
            self._connections += 1
            refused = self._connections > self.max_connections
        if refused:
            self.shutdown_request(request)  # the whole chain: the subclass's bookkeeping, the count, the close
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._cap_lock:
            self._connections -= 1
        super().shutdown_request(request)
