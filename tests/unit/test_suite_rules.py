"""The suite's own rules (tests/conftest.py): tests without the `integration` mark stay off the network."""

from __future__ import annotations

import socket

import pytest


def test_a_pure_test_cannot_bind_or_connect_an_ip_socket() -> None:
    with socket.socket() as sock:
        with pytest.raises(pytest.fail.Exception, match="integration"):
            sock.bind(("127.0.0.1", 0))
        with pytest.raises(pytest.fail.Exception, match="integration"):
            sock.connect(("127.0.0.1", 9))


def test_unix_sockets_stay_allowed() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"ok")
        assert right.recv(2) == b"ok"


@pytest.mark.integration
def test_a_marked_test_may_bind_on_loopback() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        assert sock.getsockname()[1] > 0
