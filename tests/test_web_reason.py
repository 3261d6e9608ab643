"""The web page says why no digit is shown (in the page's language) and shows the number
view's number in the digit's place, in Debian's chromium."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from app.display.web import WebViewer
from app.frame import Frame
from tests.test_web_browser import CHROMIUM, chromium

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.access(CHROMIUM, os.X_OK),
        reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
    ),
]


class StatusLoop:
    """Shows a grey frame every 30 ms with whatever status the test sets."""

    def __init__(self, display: WebViewer) -> None:
        self.display, self.status = display, {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="status-loop")

    def run(self) -> None:
        seq, array = 0, np.full((240, 320, 3), 128, np.uint8)
        while not self.stop.is_set():
            self.display.update_status({**self.status, "seq": seq})
            self.display.show(Frame(array, array[..., 0], seq, 0.0), np.zeros((240, 320, 4), "u1"))
            seq += 1
            self.stop.wait(0.03)

    def __enter__(self) -> StatusLoop:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def shown(page, element: str, want: str) -> str:
    """Wait until the page's element ``element`` reads ``want`` (the page polls the status)."""
    return page.wait_for(
        f"(() => {{ const e = document.getElementById('{element}');"
        f" return e && e.textContent === {want!r} ? [e.textContent] : null; }})()"
    )


def test_the_page_shows_the_reason_and_the_number(tmp_path):
    display = WebViewer("127.0.0.1", 0)
    display.open()
    base = f"http://127.0.0.1:{display.port}/"
    try:
        with StatusLoop(display) as loop, chromium(base, tmp_path / "profile") as page:
            loop.status = {"view": "camera", "language": "es", "prediction": None,
                           "reason": "not a digit", "hint": "digit too small"}  # fmt: skip
            assert shown(page, "reason", "no es un dígito · dígito demasiado pequeño")
            assert shown(page, "digit", "–")
            loop.status = {"view": "number", "language": "es", "prediction": None,
                           "number": "407", "reason": None}  # fmt: skip
            assert shown(page, "digit", "407")
            assert shown(page, "reason", "")
    finally:
        display.close()
