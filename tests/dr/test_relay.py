"""The drill's WAN: a TCP relay that delays each direction and can cut the link."""

from __future__ import annotations

import socket
import socketserver
import threading
import time

import pytest

from dr.relay import Relay


class _Echo(socketserver.BaseRequestHandler):
    def handle(self):
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _round_trip(port: int) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        started = time.monotonic()
        s.sendall(b"ping")
        assert s.recv(16) == b"ping"
        return time.monotonic() - started


def _closed_by_peer(s: socket.socket) -> bool:
    try:
        s.sendall(b"x")
        return s.recv(16) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def test_relay_delays_each_direction_by_half_the_rtt(echo_server):
    relay = Relay("127.0.0.1", echo_server, 0.04)
    port = relay.start()
    try:
        rtt = _round_trip(port)
        assert 0.08 <= rtt < 0.5
    finally:
        relay.close()


def test_cut_link_drops_open_connections_and_refuses_new_ones_until_restored(echo_server):
    relay = Relay("127.0.0.1", echo_server, 0.0)
    port = relay.start()
    try:
        open_conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        open_conn.sendall(b"ping")
        assert open_conn.recv(16) == b"ping"  # relayed end to end before the cut
        relay.cut()
        assert _closed_by_peer(open_conn)  # the relay aborted it
        open_conn.close()
        with pytest.raises(ConnectionRefusedError):  # like a host that is down: refused, not accepted and dropped
            socket.create_connection(("127.0.0.1", port), timeout=5)
        relay.restore()
        assert _round_trip(port) < 0.5
    finally:
        relay.close()
