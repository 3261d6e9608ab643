"""The source and display of ``convlens run``: chosen from the config and what the machine
has, and chosen again when a camera or a screen appears while the run is on a fallback.

A fallback is the demo scene that ``[source] spec = "auto"`` falls back to with no camera,
and the web viewer that a display falls back to with no HDMI screen (or when ``drm``/``fb``
failed to open). Only upgrades happen: demo -> camera, web -> framebuffer -> HDMI preview.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from app.config import Config
from app.display.base import Display
from app.display.factory import DisplayChoice, choose_auto_display, desktop_refusal, make_display
from app.display.machine import SYSTEM, MachinePaths, desktop_reason, hdmi_mode
from app.display.switching import SwitchingDisplay
from app.errors import DisplayError, one_line
from app.i18n import N_, Message
from app.screen import frame_size_for_screen
from app.source_keeper import SourceKeeper
from app.sources.base import Source
from app.sources.capture_thread import CaptureThread
from app.sources.factory import find_camera, make_source
from app.sources.picamera2_source import Picamera2Source
from app.status import MESSAGE_SEPARATOR

log = logging.getLogger(__name__)

#: How much a display is preferred when the machine allows it.
RANK = {"web": 0, "null": 0, "file": 0, "fb": 1, "drm": 2}


def is_picamera2(spec: str) -> bool:
    """True for a source spec that reads the picamera2 camera."""
    return spec.strip().partition(":")[0] == "picamera2"


@dataclass(frozen=True)
class Plan:
    """What to switch to: a source spec (None: keep it) and a display (None: keep it)."""

    source_spec: str | None
    display: DisplayChoice | None


class RunDevices:
    """Builds the run's source and display, and switches them when devices appear.

    Args:
        config: the run's configuration.
        actions: where the web viewer's keys go.
        paths: where the machine's facts are read (tests point them at a folder).
        find: ``app.sources.factory.find_camera`` (injectable for tests).
        realtime: the demo and file sources keep their frame rate (tests may not wait).
    """

    def __init__(
        self,
        config: Config,
        actions: Any = None,
        *,
        paths: MachinePaths = SYSTEM,
        find: Any = find_camera,
        realtime: bool = True,
    ) -> None:
        self.config = config
        self.actions = actions
        self.paths = paths
        self._find = find
        self._realtime = realtime
        self._lock = threading.Lock()
        self.source_spec = config.source.spec
        #: True while the source is the demo that ``auto`` fell back to.
        self.source_fallback = False
        self.display_name = ""

    # ---- choosing ---------------------------------------------------------------------

    def resolve_source(self) -> str:
        """The source spec to read now: ``auto`` resolved to a camera, or to the demo."""
        spec = self.config.source.spec.strip()
        if spec not in ("", "auto"):
            return spec
        found, skipped = self._find(self.config.source.size, self.config.source.fps)
        why = f" (skipped {'; '.join(skipped)})" if skipped else ""
        log.info("source auto: %s%s", found or "demo", why)
        self.source_fallback = found is None
        return found or "demo"

    def choose_display(self, source_spec: str) -> DisplayChoice:
        """The display the config asks for, with ``auto`` resolved for ``source_spec``."""
        spec = self.config.display.spec.strip().lower()
        if spec == "auto":
            return choose_auto_display(is_picamera2(source_spec), self.paths)
        return DisplayChoice(spec, "[display] spec")

    def could_show(self, choice: DisplayChoice, source_spec: str) -> bool:
        """Whether ``choice`` can work now: the HDMI displays need a screen and no desktop,
        and ``drm`` the picamera2 camera."""
        name = choice.name.partition(":")[0]
        if name not in ("drm", "fb"):
            return True
        if desktop_refusal(name, self.paths) is not None or hdmi_mode(self.paths) is None:
            return False
        return name == "fb" or is_picamera2(source_spec)

    def desktop(self) -> str | None:
        """Why a desktop holds the screen (its browser then sends the keys), or None."""
        return desktop_reason(self.paths)

    # ---- building ---------------------------------------------------------------------

    def build_source(self, spec: str, display: str) -> Source:
        """The source for ``spec``; picamera2 runs its full-screen DRM preview for ``drm``."""
        src = self.config.source
        size, window = src.size, None
        mode = hdmi_mode(self.paths) if display == "drm" else None
        if mode is not None:
            window = (0, 0, mode.width, mode.height)
            size = frame_size_for_screen(src.size, mode.size)
            log.info("HDMI %s: %dx%d (%s), camera %dx%d to fill it",
                     mode.connector, mode.width, mode.height, mode.source, *size)  # fmt: skip
        source = make_source(
            spec, size=size, fps=src.fps, seed=src.seed, loop=src.loop, realtime=self._realtime,
            picamera2_preview="drm" if display == "drm" else "null", drm_window=window,
        )  # fmt: skip
        # The camera's waits (the DRM preview's commit of each frame) on a thread of
        # their own, not the loop's.
        return CaptureThread(source) if isinstance(source, Picamera2Source) else source

    def build_display(self, choice: DisplayChoice, source: Source) -> Display:
        """The display ``choice`` names, for ``source``; its ``reason`` is the choice's.

        Raises DisplayError for ``drm``/``fb`` while a desktop holds the screen: opening
        the card would take it from the compositor (at boot, keep it from starting).
        """
        refusal = desktop_refusal(choice.name.partition(":")[0], self.paths)
        if refusal is not None:
            raise DisplayError(refusal)
        config = self.config
        display = make_display(
            choice.name, source=source, host=config.web.host, port=config.web.port,
            actions=self.actions, fps=config.source.fps, paths=self.paths,
        )  # fmt: skip
        display.reason = choice.reason
        return display

    def start(self) -> tuple[Source, SwitchingDisplay]:
        """The run's source (opened when the DRM display needs its camera) and display
        (opened; ``[display] fallback`` when the chosen one cannot open)."""
        self.source_spec = self.resolve_source()
        choice = self.choose_display(self.source_spec)
        log.info("display %s: %s", choice.name, choice.reason)
        source = self.build_source(self.source_spec, choice.name)
        try:
            display, source, choice = self._open_display(choice, source)
        except BaseException:
            source.close()  # a camera opened for the DRM preview must not keep running
            raise
        self.display_name = choice.name
        return source, SwitchingDisplay(display)

    def _open_display(
        self, choice: DisplayChoice, source: Source
    ) -> tuple[Display, Source, DisplayChoice]:
        if choice.name == "drm":
            _open_quietly(source)
        try:
            display = self.build_display(choice, source)
            display.open()
            return display, source, choice
        except Exception as exc:
            fallback = self.config.display.fallback
            if fallback == "none" or choice.name == fallback:
                raise
            reason = f"{choice.name} did not open ({one_line(exc)})"
            log.warning("display %s; falling back to %s", reason, fallback)
        if choice.name == "drm":  # its preview would hold the screen with no overlay
            source.close()
            source = self.build_source(self.source_spec, fallback)
        choice = DisplayChoice(fallback, reason)
        display = self.build_display(choice, source)
        display.open()
        return display, source, choice

    # ---- switching --------------------------------------------------------------------

    def plan(self, *, displays: bool = True) -> Plan | None:
        """What the run should switch to now, or None (may block: it probes cameras).

        ``displays=False`` leaves the display as it is (a switch to one failed lately).
        """
        with self._lock:
            source_spec, fallback, shown = self.source_spec, self.source_fallback, self.display_name
        new_spec = None
        if fallback:
            found, _ = self._find(self.config.source.size, self.config.source.fps)
            new_spec = found
        spec = new_spec or source_spec
        wanted = self.choose_display(spec)
        better = RANK.get(wanted.name.partition(":")[0], 0) > RANK.get(shown.partition(":")[0], 0)
        display = wanted if displays and better and self.could_show(wanted, spec) else None
        if new_spec is None and display is None:
            return None
        return Plan(new_spec, display)

    def apply(self, plan: Plan, camera: SourceKeeper, display: SwitchingDisplay) -> str:
        """Switch the loop's source and display as ``plan`` says; the message to show.

        Runs on the loop's thread, between frames. A display that fails to open leaves
        the old one in place (and the source as the old display needs it).
        """
        spec = plan.source_spec or self.source_spec
        target = plan.display.name if plan.display is not None else self.display_name
        messages = []
        needs_drm = (target == "drm") != (self.display_name == "drm")
        if plan.source_spec is not None or needs_drm:
            camera.replace(self.build_source(spec, target))
            with self._lock:
                self.source_spec, self.source_fallback = spec, False
            if plan.source_spec is not None:
                messages.append(Message(N_("camera found: {camera}"), camera=spec))
        if plan.display is not None:
            if target == "drm":
                camera.try_open()
            try:
                display.switch(self.build_display(plan.display, camera.source))
            except Exception as exc:
                log.warning("display %s did not open (%s); staying on %s",
                            target, one_line(exc), display.description)  # fmt: skip
                if target == "drm":
                    camera.replace(self.build_source(spec, self.display_name))
                raise
            with self._lock:
                self.display_name = target
            messages.append(Message(N_("screen found: showing on {display}"), display=target))
        return Message.joined(MESSAGE_SEPARATOR, messages)


def _open_quietly(source: Source) -> None:
    # The loop retries a source that does not open, with the reason on screen; the DRM
    # display needs it open first, and falls back to the web viewer without it.
    try:
        source.open()
    except Exception as exc:  # see above: never a crash and a restart loop
        log.warning("source did not open (%s); the loop keeps retrying", one_line(exc))
