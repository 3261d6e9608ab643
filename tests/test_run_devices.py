"""The run's devices: the desktop image shows the web viewer and never opens the card; the
console image fills the HDMI screen; a camera or a screen that appears after start is used
within 5 s (fake time, stepped by the test, so load on the machine cannot stretch it)."""

from __future__ import annotations

import json
import logging
import threading
import urllib.request

import numpy as np
import pytest

from app.config import Config, FaultsConfig
from app.device_watch import DeviceWatch
from app.display.drm import DrmOverlayDisplay
from app.display.web import WebViewer
from app.errors import DisplayError
from app.i18n import translate
from app.loop import CaptureLoop, LoopOptions
from app.run_devices import RunDevices
from app.sources.demo import DemoSource
from app.sources.factory import find_camera
from app.sources.picamera2_source import Picamera2Source
from app.stages.pipeline import Pipeline
from tests.fakes import use_fake_picamera2
from tests.loop_fakes import FakeNotifier
from tests.machine_fakes import connect_hdmi, fake_machine
from tests.waiting import wait_for

WAYLAND = {"USER": "pi", "TYPE": "wayland", "CLASS": "user", "SEAT": "seat0", "ACTIVE": "1"}


@pytest.fixture
def fake(monkeypatch):
    with use_fake_picamera2(monkeypatch) as control:
        yield control


def config(**display) -> Config:
    return Config().with_section("web", port=0).with_section("display", **display)


def find_no_usb(size, fps):
    return find_camera(size, fps, usb_devices=[])


def devices_for(paths, **display) -> RunDevices:
    return RunDevices(config(**display), paths=paths, find=find_no_usb, realtime=False)


def test_desktop_image_serves_the_viewer_and_never_starts_the_drm_preview(fake, tmp_path):
    paths = fake_machine(tmp_path, session=WAYLAND)
    devices = devices_for(paths)
    source, display = devices.start()
    try:
        assert isinstance(source.inner, Picamera2Source) and source.preview == "null"
        assert isinstance(display.current, WebViewer)
        assert "desktop is running" in display.reason
        assert devices.desktop() is not None  # the keyboard then comes from the page
        notifier = FakeNotifier()
        CaptureLoop(source, display, Pipeline(), notifier=notifier).run(max_frames=3)
        assert "preview_start:DRM" not in fake.state.event_names()
        # systemctl status says where the picture is and why, from the first frame on.
        names = [name for name, _ in notifier.events]
        ready = names.index("ready")
        said = [n for n in names[: ready + 2] if n.startswith("status:")]
        assert said and "; display web" in said[0] and "a desktop is running" in said[0]
        url = f"http://127.0.0.1:{display.current.port}/api/status"
        with urllib.request.urlopen(url, timeout=10) as response:
            status = json.load(response)
        assert status["display"].startswith("web") and "desktop" in status["display_reason"]
    finally:
        display.close()
        source.close()


def test_drm_asked_for_under_a_desktop_falls_back_to_web_with_the_reason(fake, tmp_path, caplog):
    paths = fake_machine(
        tmp_path, display_manager="lightdm.service", default_target="graphical.target"
    )
    with caplog.at_level(logging.WARNING, logger="app.run_devices"):
        source, display = devices_for(paths, spec="drm").start()
    try:
        assert isinstance(display.current, WebViewer)
        assert "boots to the desktop" in display.reason
        assert source.preview == "null" and source.camera is None  # the card never opened
        assert "falling back to web" in caplog.text
    finally:
        display.close()
        source.close()


def test_console_image_fills_the_screen_at_its_mode(fake, tmp_path):
    paths = fake_machine(tmp_path, modes=("1920x1080", "1280x720"), console="1920,1080")
    source, display = devices_for(paths).start()
    try:
        assert isinstance(display.current, DrmOverlayDisplay)
        assert source.drm_window == (0, 0, 1920, 1080)
        assert source.main_size == (640, 360)  # the screen's aspect: the picture fills it
        assert display.screen_size == (1920, 1080)  # the overlay is drawn at the screen's
        preview = source.camera._preview
        assert preview.window == (0, 0, 1920, 1080)
        assert display.owns_screen
    finally:
        display.close()
        source.close()


def test_a_display_that_fails_to_open_falls_back_to_web(fake, tmp_path, monkeypatch, caplog):
    import app.run_devices as run_devices

    real = run_devices.make_display

    def no_screen(spec, **kwargs):
        if spec == "drm":
            raise DisplayError("drm display: no plane")
        return real(spec, **kwargs)

    monkeypatch.setattr(run_devices, "make_display", no_screen)
    paths = fake_machine(tmp_path)
    with caplog.at_level(logging.WARNING, logger="app.run_devices"):
        source, display = devices_for(paths, spec="drm").start()
    try:
        assert isinstance(display.current, WebViewer) and "no plane" in display.reason
        assert source.preview == "null"  # the DRM preview would hold the screen bare
    finally:
        display.close()
        source.close()
    with pytest.raises(DisplayError):
        devices_for(paths, spec="drm", fallback="none").start()
    # The camera opened for the preview was closed: no capture thread keeps running.
    assert not [t for t in threading.enumerate() if t.name == "capture"]


class SteppedTime:
    """Fake seconds the test advances; the watch and the loop read them."""

    def __init__(self) -> None:
        self.now = 0.0
        self.stopping = threading.Event()

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        """The watch thread's wait between probes, in fake seconds; True once stopping."""
        until = self.now + seconds
        while self.now < until:
            if self.stopping.wait(0.002):
                return True
        return self.stopping.is_set()


def run_until_used(
    fake, paths, appear, used, *, seconds=30.0, at=20.0, step=0.25, find=find_no_usb
):
    """Run the loop and the watch's own thread (as ``convlens run`` does), stepping fake
    time by ``step``: the thread probes every 3 s of it, the loop shows at least one frame
    per step. At ``at`` s ``appear()`` happens; returns (fake seconds until ``used(loop)``
    held, the loop, whether each display switched to owned the screen)."""
    clock = SteppedTime()
    devices = RunDevices(config(), paths=paths, find=find, realtime=False)
    source, display = devices.start()
    watch = DeviceWatch(devices, display, clock=clock, wait=clock.wait)
    grabs = []
    display.on_switch = lambda new: grabs.append(new.owns_screen)
    faults = FaultsConfig(retry_initial_s=0.01, retry_max_s=0.05, log_interval_s=0.0)
    options = LoopOptions(faults=faults, clock=clock, size=(320, 240), watch=watch)
    loop = CaptureLoop(source, display, Pipeline(), options=options)
    runner = threading.Thread(target=loop.run)
    watch.start()
    runner.start()
    used_after = None
    try:
        while clock.now < seconds and used_after is None:
            # The thread's probes so far (one at start, one each interval): fake time
            # does not run ahead of a probe that real time has not finished yet.
            probes = int(clock.now // watch.interval) + 1
            assert wait_for(lambda probes=probes: watch.probes >= probes, timeout=10)
            shown = loop.result.frames
            assert wait_for(lambda shown=shown: loop.result.frames > shown, timeout=10)
            if clock.now == at:
                appear()
            if clock.now >= at and used(loop):
                used_after = clock.now - at
            clock.now += step
    finally:
        loop.stop()
        runner.join()
        clock.stopping.set()
        watch.stop()
        display.close()
        loop.source.close()
    return used_after, loop, grabs


def test_a_camera_appearing_20_s_after_start_is_used_within_5_s(fake, tmp_path):
    fake.state.cameras = []  # no camera at start: auto falls back to the demo
    paths = fake_machine(tmp_path)

    def camera_is_used(loop) -> bool:
        camera = getattr(loop.source, "inner", None)
        return isinstance(camera, Picamera2Source) and fake.state.frames_delivered > 0

    after, loop, grabs = run_until_used(fake, paths, lambda: fake.attach("imx708"), camera_is_used)
    assert after is not None and after <= 5.0, after
    # The demo ran on the framebuffer (HDMI, no picamera2); the camera brings the DRM preview.
    assert isinstance(loop.display.current, DrmOverlayDisplay) and grabs == [True]
    assert "camera found: picamera2" in loop.board.message()  # logs and JSON: English
    assert "cámara encontrada: picamera2" in translate(loop.board.message(), "es")  # the screen


def test_an_hdmi_screen_appearing_20_s_after_start_is_used_within_5_s(fake, tmp_path):
    paths = fake_machine(tmp_path, hdmi="disconnected")  # the projector is off at boot

    def on_hdmi(loop) -> bool:
        current = loop.display.current
        return isinstance(current, DrmOverlayDisplay) and current.overlays_sent > 0

    after, loop, grabs = run_until_used(fake, paths, lambda: connect_hdmi(paths), on_hdmi)
    assert after is not None and after <= 5.0, after
    assert grabs == [True]  # the keyboards are grabbed once convlens owns the screen
    assert loop.source.drm_window == (0, 0, 1920, 1080)
    assert "screen found" in loop.board.message()
    assert "pantalla encontrada: se muestra en drm" in translate(loop.board.message(), "es")


def test_nothing_is_switched_while_nothing_appears(fake, tmp_path):
    fake.state.cameras = []
    paths = fake_machine(tmp_path, hdmi="disconnected")
    devices = devices_for(paths)
    source, display = devices.start()
    try:
        assert isinstance(source, DemoSource) and isinstance(display.current, WebViewer)
        assert devices.plan() is None
    finally:
        display.close()
        source.close()


def test_a_failed_switch_is_retried_later_not_at_every_probe(fake, tmp_path, monkeypatch):
    import app.run_devices as run_devices

    paths = fake_machine(tmp_path, hdmi="disconnected")
    clock = SteppedTime()
    devices = devices_for(paths)
    source, display = devices.start()
    watch = DeviceWatch(devices, display, clock=clock)
    keeper = CaptureLoop(source, display, Pipeline()).camera
    connect_hdmi(paths)
    real = run_devices.make_display
    monkeypatch.setattr(
        run_devices,
        "make_display",
        lambda spec, **kw: (
            (_ for _ in ()).throw(DisplayError("no plane")) if spec == "drm" else real(spec, **kw)
        ),
    )
    try:
        watch.probe_once()
        with pytest.raises(DisplayError):
            watch.poll(keeper)
        assert isinstance(display.current, WebViewer)
        assert keeper.source.preview == "null"  # not left with a bare preview on HDMI
        clock.now += 10.0
        watch.probe_once()
        assert watch.poll(keeper) is None  # too soon to try again
        clock.now += 25.0
        monkeypatch.setattr(run_devices, "make_display", real)
        watch.probe_once()
        assert "screen found" in watch.poll(keeper)
        assert isinstance(display.current, DrmOverlayDisplay)
    finally:
        display.close()
        keeper.source.close()


def test_the_watch_thread_probes_every_interval_until_stopped(tmp_path):
    paths = fake_machine(tmp_path, pi=False)
    devices = devices_for(paths, spec="null")
    watch = DeviceWatch(devices, None, interval=0.01)
    watch.start()
    assert wait_for(lambda: watch.probes >= 3)
    watch.stop()
    probes = watch.probes
    assert watch._thread is None and watch.probes == probes


def test_drm_overlay_back_after_the_camera_is_lost_and_the_waiting_screen_is_on_hdmi(
    fake, tmp_path
):
    """Picamera2.close takes the preview off the screen: the waiting screen goes to the
    console's framebuffer, and the overlay comes back with the camera, through errors."""
    paths = fake_machine(tmp_path, modes=("640x360",), console="640,360")
    devices = devices_for(paths)
    source, display = devices.start()
    fake.state.fail_after_frames = 30
    fake.state.recover_after_attempts = 2
    faults = FaultsConfig(retry_initial_s=0.01, retry_max_s=0.05, log_interval_s=0.0)
    loop = CaptureLoop(source, display, Pipeline(), options=LoopOptions(faults=faults))
    source.inner.capture_timeout = 0.05
    drm = display.current
    drm.min_interval = 0.0
    fb = np.memmap(paths.fb_device, np.uint8, mode="r", shape=(360, 640, 4))
    seen_waiting = []

    def watch_screen() -> None:
        # While the camera is away, the framebuffer (what HDMI shows then) has the
        # waiting screen's text: bright pixels on black.
        if source.camera is None and loop.result.source_failures:
            seen_waiting.append(int(fb[:, :, :3].max()))

    runner = threading.Thread(target=loop.run)
    runner.start()
    try:
        assert wait_for(lambda: loop.result.source_failures >= 1, timeout=10)
        assert wait_for(lambda: (watch_screen(), seen_waiting and max(seen_waiting) > 200)[1])
        sent_before = drm.overlays_sent
        # The first overlays on the new camera fail as a set_overlay racing the old
        # preview's stop does: the overlay thread goes on and the overlay comes back.
        fake.state.overlay_errors = [
            AttributeError("'NoneType' object has no attribute 'fd'"),
            KeyError("main"),
            ValueError("data out of range"),
        ]
        assert wait_for(lambda: source.camera is not None and loop.result.frames > 40, 10)
        assert wait_for(lambda: fake.state.overlay_errors == [] and drm.overlays_sent > sent_before)
        assert drm._thread is not None and drm._thread.is_alive()
        last = [c for c in fake.state.overlay_calls if c.shape is not None][-1]
        assert last.shape == (360, 640, 4)
        assert int(fb[:, :, :3].max()) == 0  # blanked again under the camera picture
    finally:
        loop.stop()
        runner.join()
        display.close()
        source.close()


def test_a_4k_screen_gets_a_1080p_overlay_the_plane_scales_up(fake, tmp_path):
    """Drawing, copying and sending a 3840x2160 overlay costs four times a 1920x1080 one;
    the overlay plane scales it onto the picture in hardware, as it does the camera's."""
    paths = fake_machine(tmp_path, modes=("3840x2160", "1920x1080"), console="3840,2160")
    source, display = devices_for(paths).start()
    try:
        assert source.drm_window == (0, 0, 3840, 2160)
        assert display.screen_size == (1920, 1080)
        assert source.camera._preview.window == (0, 0, 3840, 2160)  # where the planes go
        display.current.min_interval = 0.0
        CaptureLoop(source, display, Pipeline()).run(max_frames=5)
        assert wait_for(lambda: display.current.overlays_sent > 0)  # the worker sends them
        sent = [c for c in fake.state.overlay_calls if c.shape is not None]
        assert sent[-1].shape == (1080, 1920, 4)
    finally:
        display.close()
        source.close()


@pytest.mark.parametrize(
    ("size", "fitted"),
    [
        ((3840, 2160), (1920, 1080)),
        ((1920, 1080), (1920, 1080)),
        ((1280, 720), (1280, 720)),
        ((4096, 2160), (1920, 1012)),  # DCI 4K: the width limits (1012.5, to even)
        ((2560, 2048), (1350, 1080)),  # 5:4: the height limits
    ],
)
def test_overlay_size_within_1080p_keeps_the_aspect(size, fitted):
    from app.screen import MAX_OVERLAY_SIZE, within

    assert within(size, MAX_OVERLAY_SIZE) == fitted
