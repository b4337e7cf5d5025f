"""The throwaway PostgreSQL servers the drill and the tests run: a port no other process takes meanwhile."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from dr import localpg
from tests.dr import conftest as dr_conftest


def test_a_free_port_is_below_the_kernels_ephemeral_range():
    """bind(0) hands out a port from the range every outgoing connection on the machine draws from too,
    which another process may take in the seconds initdb runs before the server binds it."""
    ranges = Path("/proc/sys/net/ipv4/ip_local_port_range")
    if not ranges.exists():
        pytest.skip("no Linux ephemeral port range to compare with")
    low = int(ranges.read_text().split()[0])
    ports = {localpg.free_port() for _ in range(20)}
    assert ports and all(port < low for port in ports)


def test_a_server_whose_port_was_taken_meanwhile_starts_on_another(monkeypatch):
    bin_dir = localpg.bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL 15 server binaries are not installed")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    picks = iter([taken.getsockname()[1]])
    real = localpg.free_port
    monkeypatch.setattr(localpg, "free_port", lambda: next(picks, None) or real())  # the first pick is taken by the time the server binds
    server = None
    try:
        server = localpg.start(bin_dir)
        assert server.port != taken.getsockname()[1] and server.running()
        with socket.create_connection(("127.0.0.1", server.port), timeout=30):
            pass
    finally:
        taken.close()
        if server is not None:
            server.remove()


def test_the_suites_servers_keep_their_data_in_memory_when_the_machine_has_room(postgres_servers):
    chosen = dr_conftest.SERVERS_PARENT[0]  # the choice made when the servers started (free space may differ by now)
    if chosen is None:
        pytest.skip("no file system in memory with room here (or CRM_TEST_POSTGRES_ON_DISK): the servers use the temporary directory")
    assert chosen in localpg.MEMORY_DIRECTORIES
    assert [server.root.parent for server in postgres_servers] == [chosen, chosen]


def test_the_suites_servers_stay_on_disk_when_asked(monkeypatch):
    monkeypatch.setenv(dr_conftest.ON_DISK, "1")
    started = []
    monkeypatch.setattr(localpg, "start", lambda *args, **kwargs: started.append(kwargs["parent"]) or _Stopped())
    monkeypatch.setattr(localpg, "bin_dir", lambda: Path("/nonexistent"))
    monkeypatch.setattr(localpg, "audited", lambda bin_path: {})
    fixture = dr_conftest.postgres_servers.__wrapped__()  # the fixture's own function, as pytest runs it
    next(fixture)
    fixture.close()
    assert started == [None, None]


class _Stopped:
    audited = False

    def remove(self) -> None:
        pass


def test_a_memory_directory_without_the_room_to_spare_is_not_used(monkeypatch, tmp_path):
    monkeypatch.setattr(localpg, "MEMORY_DIRECTORIES", (tmp_path / "missing", tmp_path))
    free = os.statvfs(tmp_path)
    monkeypatch.setattr(localpg, "MEMORY_MIN_FREE_BYTES", free.f_bavail * free.f_frsize // 2)
    assert localpg.memory_directory() == tmp_path
    monkeypatch.setattr(localpg, "MEMORY_MIN_FREE_BYTES", free.f_bavail * free.f_frsize * 2 + 1)
    assert localpg.memory_directory() is None
