"""``convlens kiosk``: the desktop's Chromium on the viewer's presentation page."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from app.cli import main
from app.config import Config
from app.display.web import WebViewer
from app.kiosk import browser_command, find_browser, viewer_url, wait_for_viewer


def test_the_page_is_on_this_machine_whatever_the_viewer_listens_on():
    assert viewer_url(Config()) == "http://127.0.0.1:8000/?present"
    open_to_all = Config().with_section("web", host="0.0.0.0", port=8080)
    assert viewer_url(open_to_all) == "http://127.0.0.1:8080/?present"
    assert viewer_url(Config().with_section("web", host="::1")) == "http://[::1]:8000/?present"
    lan = Config().with_section("web", host="192.168.1.20")
    assert viewer_url(lan) == "http://192.168.1.20:8000/?present"


def test_chromium_is_found_by_either_name_newest_first():
    installed = {"chromium-browser": "/usr/bin/chromium-browser"}
    assert find_browser(installed.get) == "/usr/bin/chromium-browser"  # Bookworm
    installed["chromium"] = "/usr/bin/chromium"
    assert find_browser(installed.get) == "/usr/bin/chromium"  # Trixie
    assert find_browser({}.get) is None


def test_kiosk_mode_with_a_profile_of_its_own(tmp_path):
    command = browser_command("/usr/bin/chromium", "http://127.0.0.1:8000/?present", tmp_path)
    assert command[0] == "/usr/bin/chromium" and "--kiosk" in command
    assert f"--user-data-dir={tmp_path}" in command
    assert command[-1] == "http://127.0.0.1:8000/?present"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_waits_for_the_viewer_and_gives_up_after_the_timeout():
    viewer = WebViewer("127.0.0.1", 0)
    viewer.open()
    try:
        assert wait_for_viewer(f"http://127.0.0.1:{viewer.port}/?present", 10)
    finally:
        viewer.close()
    now = [0.0]
    sleeps = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    closed = f"http://127.0.0.1:{free_port()}/?present"
    assert not wait_for_viewer(closed, 5, clock=lambda: now[0], sleep=sleep)
    assert sleeps == [1.0] * 5


def test_convlens_kiosk_opens_chromium_on_the_running_viewer(tmp_path, monkeypatch, capsys):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_chromium = bin_dir / "chromium"
    fake_chromium.write_text("#!/bin/sh\n")
    fake_chromium.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    viewer = WebViewer("127.0.0.1", 0)
    viewer.open()
    config = tmp_path / "config.toml"
    config.write_text(f"[web]\nport = {viewer.port}\n")
    try:
        assert main(["kiosk", "--config", str(config), "--dry-run"]) == 0
    finally:
        viewer.close()
    printed = capsys.readouterr().out.split()
    assert printed[0] == str(fake_chromium) and "--kiosk" in printed
    assert printed[-1] == f"http://127.0.0.1:{viewer.port}/?present"
    assert f"--user-data-dir={Path(tmp_path / 'cache' / 'convlens-kiosk')}" in printed
    monkeypatch.setenv("PATH", os.devnull)
    assert main(["kiosk", "--config", str(config), "--dry-run"]) == 1  # no Chromium
