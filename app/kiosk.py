"""``convlens kiosk``: on the Pi's desktop, open the viewer's presentation page full screen.

The desktop's compositor owns the HDMI screen, so the service shows its picture through
the web viewer, and this command (started at login by the XDG autostart entry the
installer writes, ``~/.config/autostart/convlens-kiosk.desktop``) opens it in Chromium's
kiosk mode: the picture alone, full screen; keys typed go to the page, which sends them
to convlens. It waits for the viewer to answer first (the service may still be starting),
then replaces itself with Chromium.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from app.config import Config

log = logging.getLogger(__name__)

#: Raspberry Pi OS's Chromium: ``chromium`` (Trixie, and Bookworm's newer packages, which
#: keep ``chromium-browser`` as a link to it), ``chromium-browser`` (older Bookworm).
BROWSERS = ("chromium", "chromium-browser")
#: Addresses that mean "every interface": the Pi's own browser uses loopback then.
ANY_ADDRESS = ("0.0.0.0", "::", "")


def viewer_url(config: Config) -> str:
    """The presentation page on this machine, from ``[web] host``/``port``."""
    host = config.web.host
    if host in ANY_ADDRESS:
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{config.web.port}/?present"


def find_browser(which: Callable[[str], str | None] = shutil.which) -> str | None:
    """The path of the first Chromium binary installed, or None."""
    for name in BROWSERS:
        path = which(name)
        if path:
            return path
    return None


def browser_command(browser: str, url: str, profile: Path) -> list[str]:
    """Chromium in kiosk mode on ``url``, with a profile of its own: a Chromium the user
    already runs would otherwise open the page as a tab of its window, not full screen."""
    return [
        browser,
        "--kiosk",
        "--noerrdialogs",
        "--disable-infobars",
        "--no-first-run",
        "--disable-session-crashed-bubble",
        "--password-store=basic",
        f"--user-data-dir={profile}",
        url,
    ]


def wait_for_viewer(
    url: str,
    timeout: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """True once ``url``'s ``/api/status`` answers, False after ``timeout`` seconds."""
    status = url.split("?")[0] + "api/status"
    deadline = clock() + timeout
    while True:
        try:
            with urllib.request.urlopen(status, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        if clock() >= deadline:
            return False
        sleep(1.0)


def command_kiosk(args: argparse.Namespace, config: Config) -> int:
    """Wait for the viewer, then exec Chromium on its presentation page; 1 when it cannot."""
    browser = find_browser()
    if browser is None:
        log.error("no Chromium found (%s): sudo apt install chromium", " or ".join(BROWSERS))
        return 1
    url = viewer_url(config)
    if not wait_for_viewer(url, args.wait):
        log.error("the viewer at %s did not answer within %g s; is the convlens service "
                  "running? (systemctl status convlens)", url, args.wait)  # fmt: skip
        return 1
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    command = browser_command(browser, url, cache / "convlens-kiosk")
    log.info("opening %s", " ".join(command))
    if args.dry_run:
        print(" ".join(command))
        return 0
    os.execv(browser, command)
    return 1  # not reached: execv replaces this process


def add_kiosk_parser(sub: argparse._SubParsersAction, common: Callable) -> None:
    """The ``kiosk`` subcommand's options."""
    kiosk = common(sub.add_parser("kiosk", help="open the viewer full screen on the Pi's desktop"))
    kiosk.add_argument("--wait", type=float, default=120.0, metavar="S",
                       help="seconds to wait for the viewer (default 120)")  # fmt: skip
    kiosk.add_argument("--dry-run", action="store_true", help="print the command, do not run")
