"""Every line the overlay draws in Spanish is in Spanish (issue 12): no English text built in
another module (a status message, a stage's name, the runtime) slips past the catalog.

The check uses the catalog itself, so it needs no list kept by hand: a word that occurs in
some English text of the app (a msgid) but in no Spanish translation is English only
("camera", "snapshot", "switched", "digit"). Every view is drawn in Spanish with the help
table and a message made by the real producers (no camera, a stage switched off, a
snapshot saved, joined by the status board), and the waiting screen with no camera;
each line the text renderer composes (``recording_text``) must hold no English-only word.
What the app cannot translate, the operating system's error text and a file's name, is
data: its words are left out of the check.
"""

from __future__ import annotations

import errno
import re
from dataclasses import replace
from pathlib import Path

import pytest

from app.config import config_from_dict
from app.controls.actions import key_legend
from app.faults import Backoff, RateLimitedLog, StageFaults
from app.i18n import language, translate
from app.i18n_sync import extract_messages
from app.loop import CaptureLoop, LoopOptions
from app.snapshot import saved_notice
from app.source_keeper import SourceKeeper
from app.sources.demo import DemoSource
from app.stages.pipeline import build_pipeline
from app.stages.results import FrameResults
from app.state import ViewState
from app.status import FrameStatus
from app.status_board import StatusBoard
from app.views import VIEWS
from app.views.renderer import OverlayRenderer
from app.views.text import recording_text
from tests.loop_fakes import RecordingDisplay
from tests.test_i18n import catalog_entries
from tests.test_teaching_views import CASES

WORD = re.compile(r"[^\W\d_]{2,}")
PLACEHOLDER = re.compile(r"\{[^}]*\}")
FUNCTION = re.compile(r"[^\W\d_]+(?=\()")

#: The operating system's words and a file's name: data shown as it is, in any language.
DEVICE_ERROR = OSError(errno.ENODEV, "No such device")
SNAPSHOT = Path("snapshots") / "20261130-170000"


def words(text: str) -> set[str]:
    """The words of ``text`` (letters only, two or more), lower case, placeholders out;
    a word written as a function, ``max(0, x)``, is notation, the same in any language."""
    text = FUNCTION.sub(" ", PLACEHOLDER.sub(" ", text))
    return {w.lower() for w in WORD.findall(text)}


def english_only_words() -> set[str]:
    """Words of the app's English texts that no Spanish translation uses."""
    english: set[str] = set()
    for message in extract_messages().messages.values():
        english |= words(message.msgid) | words(message.plural or "")
    spanish: set[str] = set()
    for entry in catalog_entries("es").values():
        for text in entry.msgstr:
            spanish |= words(text)
    return english - spanish


class BrokenCamera:
    """A source whose ``open`` fails as a missing camera does, with ``error``."""

    description = "usb:0"

    def __init__(self, error: OSError = DEVICE_ERROR) -> None:
        self.error = error

    def open(self) -> None:
        raise self.error

    def close(self) -> None:
        pass


def live_message() -> tuple[str, str]:
    """(the status line, the waiting screen's detail), made by the real producers."""
    clock = iter(range(1000)).__next__
    warn = RateLimitedLog(__import__("logging").getLogger("test"), 60.0, lambda: 0.0)
    camera = SourceKeeper(BrokenCamera(), Backoff(1.0, 8.0), warn, lambda: 0.0)
    assert not camera.try_open()
    faults = StageFaults(max_consecutive=3, clock=lambda: 0.0)
    for _ in range(3):
        faults.failure("kernel", ValueError("boom"))
    board = StatusBoard(None, None, warn, lambda: float(clock()))  # type: ignore[arg-type]
    board.notice(saved_notice(SNAPSHOT))
    message = board.message(camera.message, *faults.disabled().values())
    return message, camera.waiting_text()


def data_words() -> set[str]:
    return words(str(DEVICE_ERROR)) | words(str(SNAPSHOT)) | {"boom", "valueerror", "usb"}


def view_states() -> list[tuple[str, dict[str, object]]]:
    """Every view in each of its modes, and the teaching views' states beyond them (a
    moved point, the convolution's flip)."""
    states: list[tuple[str, dict[str, object]]] = []
    for view in VIEWS:
        states += [(view.name, {"mode": mode}) for mode in range(max(1, len(view.modes)))]
    return states + [(view, changes) for _, view, changes in CASES]


def live_results(view: str, changes: dict[str, object]) -> tuple[FrameStatus, FrameResults]:
    """The demo scene through the real stages and loop, as the view shows it."""
    display = RecordingDisplay()
    loop = CaptureLoop(
        DemoSource(size=(640, 480), seed=0, realtime=False),
        display,
        build_pipeline(config_from_dict({"model": {"backend": "numpy"}})),
        state=ViewState(view=view, numpy_reference=True, **changes),  # type: ignore[arg-type]
        options=LoopOptions(),
    )
    loop.run(max_frames=8)
    return display.statuses[-1], loop.last_results


def untranslated_msgids() -> set[str]:
    """The marked English texts whose Spanish differs: drawn as they are, they leaked."""
    return {
        msgid
        for msgid, entry in catalog_entries("es").items()
        if msgid and entry.msgstr and entry.msgstr[0] != msgid
    }


@pytest.mark.parametrize(
    ("view", "changes"), view_states(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_line_drawn_in_spanish_holds_no_english_only_word(view, changes) -> None:
    status, results = live_results(view, changes)
    message, waiting = live_message()
    assert "cámara" not in message  # the status line itself is English until drawn
    status = replace(status, language="es", message=message, show_help=True)
    renderer = OverlayRenderer((1280, 720), key_legend(), frame_size=(640, 480))
    with recording_text() as drawn:
        renderer.render(status, results)
        renderer.render(replace(status, show_help=False, frozen=True), results)
        with language("es"):
            renderer.message_frame("no camera", waiting)  # as app.loop does
    english = english_only_words() - data_words()
    leaks = {d.text: sorted(words(d.text) & english) for d in drawn}
    leaks = {text: found for text, found in leaks.items() if found}
    assert not leaks, f"{view} {changes}: English on the Spanish screen: {leaks}"
    marked = {d.text for d in drawn} & untranslated_msgids()
    assert not marked, f"{view} {changes}: marked texts drawn untranslated: {marked}"


def test_the_check_finds_english_when_there_is_some() -> None:
    """The guard can fail: the English status line, drawn as it is, is caught."""
    message, _ = live_message()
    english = english_only_words() - data_words()
    assert {"camera", "stage", "switched", "snapshot", "saved"} <= words(message) & english
    # And a view's title drawn as marked, not translated, is caught by the second check.
    assert {"CAMERA + DIGIT", "ACTIVATION FUNCTIONS"} <= untranslated_msgids()


def test_every_stage_and_the_overlay_have_a_spanish_name_for_the_footer() -> None:
    """The footer's timings and a switched-off stage's message name the stage; a new
    stage without a marked name would show its English identifier on a Spanish screen."""
    from app.stages.pipeline import STAGE_ORDER
    from app.views.words import STAGE_NAMES

    assert set(STAGE_ORDER) | {"overlay"} <= set(STAGE_NAMES)
    spanish = catalog_entries("es")
    for name in STAGE_NAMES:
        assert spanish[name].msgstr[0], name


def test_the_waiting_screen_says_all_of_its_longer_spanish_detail() -> None:
    """'sin cámara (...); se reintenta en 4 s' ran past a 640 px picture's right edge
    (the web page's and a small HDMI mode's): it wraps, every word on the screen."""
    camera = BrokenCamera(OSError("usb:7: cannot open the camera; expected a V4L2 device"))
    warn = RateLimitedLog(__import__("logging").getLogger("test"), 60.0, lambda: 0.0)
    keeper = SourceKeeper(camera, Backoff(4.0, 8.0), warn, lambda: 0.0)
    assert not keeper.try_open()
    waiting = keeper.waiting_text()
    renderer = OverlayRenderer((640, 480), key_legend(), frame_size=(640, 480))
    with recording_text() as drawn, language("es"):
        renderer.message_frame("no camera", waiting)
    assert max(d.shape[1] for d in drawn) <= 640
    said = " ".join(d.text for d in drawn).split()
    assert " ".join(said).endswith(translate(waiting, "es")), said


def test_systemd_hears_the_loops_texts_in_english_while_the_screen_speaks_spanish() -> None:
    """systemctl status and the journal are read by whoever keeps the Pi, not the class."""
    lines: list[str] = []

    class Notifier:
        def status(self, text: str) -> None:
            lines.append(text)

    display = RecordingDisplay()
    warn = RateLimitedLog(__import__("logging").getLogger("test"), 60.0, lambda: 0.0)
    board = StatusBoard(display, Notifier(), warn, lambda: 0.0)  # type: ignore[arg-type]
    board.notice(saved_notice(SNAPSHOT))
    message = board.message()
    board.publish(FrameStatus(language="es", message=message))
    assert lines == [f"snapshot saved: {SNAPSHOT}"]
    assert translate(display.statuses[-1].message, "es") == f"captura guardada: {SNAPSHOT}"
