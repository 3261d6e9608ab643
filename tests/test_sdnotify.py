"""SystemdNotifier against a real AF_UNIX datagram socket, as systemd would listen."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.sdnotify import SystemdNotifier


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket at a filesystem path; yields (socket, NOTIFY_SOCKET value)."""
    path = tmp_path / "notify.sock"
    if len(str(path)) > 100:  # sun_path holds 108 bytes
        path = Path(tempfile.mkdtemp(prefix="sdn")) / "n.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    try:
        yield sock, str(path)
    finally:
        sock.close()


def received(sock: socket.socket) -> list[str]:
    """All datagrams waiting on ``sock``, decoded, without blocking."""
    messages = []
    sock.setblocking(False)
    try:
        while True:
            messages.append(sock.recv(4096).decode())
    except BlockingIOError:
        pass
    finally:
        sock.settimeout(2.0)
    return messages


def test_ready_status_stopping_arrive_as_datagrams(listener):
    sock, address = listener
    notifier = SystemdNotifier({"NOTIFY_SOCKET": address})
    assert notifier.enabled
    notifier.ready()
    notifier.status("camera: picamera2 640x480, 24.8 fps")
    notifier.stopping()
    assert received(sock) == [
        "READY=1",
        "STATUS=camera: picamera2 640x480, 24.8 fps",
        "STOPPING=1",
    ]


def test_status_is_kept_on_one_line(listener):
    sock, address = listener
    SystemdNotifier({"NOTIFY_SOCKET": address}).status("camera lost\nREADY=1")
    assert received(sock) == ["STATUS=camera lost READY=1"]


def test_abstract_namespace_address():
    name = f"convlens-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2.0)
    try:
        SystemdNotifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert sock.recv(4096) == b"READY=1"
    finally:
        sock.close()


def test_watchdog_is_rate_limited_to_a_third_of_the_interval(listener):
    sock, address = listener
    clock = FakeClock()
    env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "9000000", "WATCHDOG_PID": str(os.getpid())}
    notifier = SystemdNotifier(env, clock=clock)
    assert notifier.watchdog_interval() == pytest.approx(9.0)

    sent_at = []
    # 30 frames per second for 10 seconds of fake time.
    for frame in range(300):
        clock.now = 1000.0 + frame / 30
        notifier.watchdog()
        messages = received(sock)
        assert messages in ([], ["WATCHDOG=1"])
        if messages:
            sent_at.append(round(clock.now - 1000.0, 2))
    # The first call pings at once, then one ping every 3 s.
    assert sent_at == [0.0, 3.0, 6.0, 9.0]


def test_watchdog_interval_ignored_when_meant_for_another_process(listener):
    sock, address = listener
    env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}
    notifier = SystemdNotifier(env)
    assert notifier.watchdog_interval() is None
    notifier.watchdog()
    assert received(sock) == []


def test_watchdog_without_watchdog_pid_applies_to_us(listener):
    _, address = listener
    notifier = SystemdNotifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2500000"})
    assert notifier.watchdog_interval() == pytest.approx(2.5)


@pytest.mark.parametrize("usec", ["", "0", "-5", "ten"])
def test_watchdog_off_for_missing_or_bad_usec(listener, usec):
    sock, address = listener
    notifier = SystemdNotifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": usec})
    assert notifier.watchdog_interval() is None
    notifier.watchdog()
    assert received(sock) == []


def test_everything_is_a_no_op_without_notify_socket():
    notifier = SystemdNotifier({"WATCHDOG_USEC": "1000000"})
    assert not notifier.enabled
    assert notifier.watchdog_interval() is None
    # Nothing to send to: these must simply return.
    notifier.ready()
    notifier.watchdog()
    notifier.status("x")
    notifier.stopping()


def test_non_unix_address_disables_with_warning(caplog):
    notifier = SystemdNotifier({"NOTIFY_SOCKET": "vsock:2:1234"})
    assert not notifier.enabled
    assert "not an AF_UNIX address" in caplog.text


def test_vanished_socket_logs_once_and_does_not_raise(tmp_path, caplog):
    notifier = SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    notifier.ready()
    notifier.stopping()
    warnings = [r for r in caplog.records if "cannot notify systemd" in r.getMessage()]
    assert len(warnings) == 1
    assert "READY" in warnings[0].getMessage()


def test_reads_os_environ_by_default(listener, monkeypatch):
    sock, address = listener
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "3000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    notifier = SystemdNotifier()
    assert notifier.watchdog_interval() == pytest.approx(3.0)
    notifier.watchdog()
    assert received(sock) == ["WATCHDOG=1"]
