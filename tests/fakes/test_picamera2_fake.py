"""The fake picamera2 itself, against the real library.

Its cameras: lists, sensor modes and mode choice as on real Pis (the sensor mode tables
come from the Raspberry Pi kernel drivers, see _sensors.py; the figures below are what
``rpicam-hello --list-cameras`` and picamera2's ``sensor_modes`` print on real Pis).
Its behaviour where convlens relies on it, its fault hooks, and its signatures: a
hand-copied table, checked against the real source when it is available (a checkout,
or the published wheel in CI).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.fakes import use_fake_picamera2

#: The picamera2 release the fake was read from (raspberrypi/picamera2 @ 3e6dff0).
REAL_VERSION = "0.3.36"


@pytest.fixture
def fake(monkeypatch):
    with use_fake_picamera2(monkeypatch) as control:
        yield control


def open_camera(fake, name: str):
    import picamera2

    fake.attach(name)
    return picamera2.Picamera2()


# (size, fps, crop_limits) per mode, in the order libcamera lists them.
REAL_MODES = {
    "imx219": [
        ((640, 480), 103.33, (1000, 752, 1280, 960)),
        ((1640, 1232), 41.85, (0, 0, 3280, 2464)),
        ((1920, 1080), 47.57, (680, 692, 1920, 1080)),
        ((3280, 2464), 21.19, (0, 0, 3280, 2464)),
    ]
    * 2,  # SRGGB10_CSI2P, then SRGGB8: the same modes
    "imx477": [
        ((1332, 990), 120.05, (696, 528, 2664, 1980)),
        ((2028, 1080), 50.03, (0, 440, 4056, 2160)),
        ((2028, 1520), 40.01, (0, 0, 4056, 3040)),
        ((4056, 3040), 10.0, (0, 0, 4056, 3040)),
    ],
    "imx708": [
        ((1536, 864), 120.13, (768, 432, 3072, 1728)),
        ((2304, 1296), 56.03, (0, 0, 4608, 2592)),
        ((4608, 2592), 14.35, (0, 0, 4608, 2592)),
    ],
    "ov5647": [
        ((640, 480), 58.92, (16, 0, 2560, 1920)),
        ((1296, 972), 43.25, (0, 0, 2592, 1944)),
        ((1920, 1080), 30.62, (348, 434, 1928, 1080)),
        ((2592, 1944), 15.63, (0, 0, 2592, 1944)),
    ],
}
FORMATS = {
    "imx219": ["SRGGB10_CSI2P"] * 4 + ["SRGGB8"] * 4,
    "imx477": ["SRGGB10_CSI2P"] + ["SRGGB12_CSI2P"] * 3,
    "imx708": ["SRGGB10_CSI2P"] * 3,
    "ov5647": ["SGBRG10_CSI2P"] * 4,
}


@pytest.mark.parametrize("name", sorted(REAL_MODES))
def test_sensor_modes_are_the_real_ones(fake, name):
    camera = open_camera(fake, name)
    try:
        modes = camera.sensor_modes
        got = [(m["size"], m["fps"], m["crop_limits"]) for m in modes]
        assert got == REAL_MODES[name]
        assert [m["format"] for m in modes] == FORMATS[name]
        assert all(m["bit_depth"] == int(m["unpacked"][-2:].lstrip("B")) for m in modes)
        # Reading them configured the camera once per mode, as the real property does.
        assert camera.configure_count == len(modes)
    finally:
        camera.close()


def test_sensor_modes_of_a_started_camera_raise_like_the_real_ones(fake):
    camera = open_camera(fake, "imx219")
    camera.start()
    try:
        with pytest.raises(RuntimeError, match="must be stopped"):
            camera.sensor_modes  # noqa: B018 - a property that configures
    finally:
        camera.close()


@pytest.mark.parametrize(
    ("name", "chosen"),
    # What libcamera picks for a 640x480 preview when nobody chooses: cropped on the
    # IMX219 and IMX708, the whole sensor on the IMX477 (12 bits) and OV5647.
    [("imx219", (640, 480)), ("imx708", (1536, 864)), ("imx477", (2028, 1520)),
     ("ov5647", (640, 480))],
)  # fmt: skip
def test_unchosen_mode_follows_the_main_size_as_in_picamera2(fake, name, chosen):
    camera = open_camera(fake, name)
    try:
        camera.configure(camera.create_preview_configuration(main={"size": (640, 480)}))
        assert camera.camera_configuration()["sensor"]["output_size"] == chosen
    finally:
        camera.close()


def test_a_sensor_config_picks_that_mode_and_the_frame_limits_follow(fake):
    camera = open_camera(fake, "imx219")
    try:
        config = camera.create_preview_configuration(
            sensor={"output_size": (1640, 1232), "bit_depth": 10}
        )
        assert config["controls"]["FrameDurationLimits"] == (100, 83333)  # picamera2's default
        camera.configure(config)
        assert camera.camera_configuration()["sensor"] == {
            "bit_depth": 10,
            "output_size": (1640, 1232),
        }
        assert camera.camera_controls["FrameDurationLimits"][0] == 23894  # 41.85 fps
        assert camera.camera_controls["ScalerCrop"][1] == (0, 0, 3280, 2464)
        with pytest.raises(RuntimeError, match="Unexpected keys"):
            camera.configure(camera.create_preview_configuration(sensor={"fps": 30}))
    finally:
        camera.close()


def test_usb_webcam_is_listed_last_and_has_one_stream(fake):
    import picamera2

    fake.attach("usb", "imx708")
    info = picamera2.Picamera2.global_camera_info()
    assert [c["Model"] for c in info] == ["imx708", "HD Pro Webcam C920"]
    assert [c["Num"] for c in info] == [1, 0]  # Num: libcamera's order
    webcam = info[1]
    assert "/usb" in webcam["Id"] and "Rotation" not in webcam
    camera = picamera2.Picamera2(1)
    try:
        assert "ColorFilterArrangement" not in camera.camera_properties
        assert "FrameDurationLimits" not in camera.camera_controls
        assert camera.sensor_modes == [{"format": "MJPEG"}, {"format": "YUYV"}]
        config = camera.create_preview_configuration(lores={"size": (320, 240)})
        assert config["raw"] is None and config["sensor"] is None
        with pytest.raises(RuntimeError, match="one stream"):
            camera.configure(config)
        camera.configure(camera.create_preview_configuration(main={"format": "RGB888"}))
        assert camera.stream_configuration("main")["format"] == "MJPEG"
    finally:
        camera.close()


def test_fake_stalls_when_requests_are_not_released(fake):
    import picamera2

    camera = picamera2.Picamera2()
    try:
        camera.configure(camera.create_preview_configuration(buffer_count=2))
        camera.start()
        held = [camera.capture_request(wait=0.05) for _ in range(2)]
        with pytest.raises(picamera2.TimeoutError):
            camera.capture_request(wait=0.05)
        held[0].release()
        camera.capture_request(wait=0.05).release()
        held[1].release()
    finally:
        camera.close()


def test_fake_drm_overlay_rules(fake):
    import picamera2

    camera = picamera2.Picamera2()
    try:
        with pytest.raises(RuntimeError, match="No preview specified"):
            camera.set_overlay(np.zeros((4, 4, 4), np.uint8))
        camera.configure(camera.create_preview_configuration())
        camera.start_preview(picamera2.Preview.DRM)
        camera.start()
        # As on the Pi: no overlay plane until the preview has shown a first frame.
        with pytest.raises(RuntimeError, match="Overlays not supported"):
            camera.set_overlay(np.zeros((4, 4, 4), np.uint8))
        camera.capture_request(wait=0.05).release()
        with pytest.raises(ValueError, match="data out of range"):
            camera.set_overlay(np.zeros((4, 4, 4), np.float32))
        camera.set_overlay(None)
    finally:
        camera.close()
    assert [c.shape for c in fake.state.overlay_calls] == [None]


def test_fake_no_camera_raises_index_error_like_the_real_library(fake):
    import picamera2

    fake.state.cameras = []
    assert picamera2.Picamera2.global_camera_info() == []
    with pytest.raises(IndexError):
        picamera2.Picamera2()


def test_fake_open_errors_are_raised_where_the_real_init_raises_them(fake):
    import picamera2

    denied = PermissionError(13, "Permission denied", "/dev/dma_heap/vidbuf_cached")
    fake.state.open_errors = [OSError(5, "Input/output error"), denied]
    with pytest.raises(RuntimeError, match="Camera __init__ sequence did not complete") as info:
        picamera2.Picamera2()
    assert isinstance(info.value.__cause__, OSError) and fake.state.acquired == set()
    with pytest.raises(PermissionError):
        picamera2.Picamera2()
    # The half-built object keeps the camera, as in the real library: it is busy now.
    assert fake.state.acquired == {0}
    with pytest.raises(RuntimeError, match="Camera __init__ sequence did not complete"):
        picamera2.Picamera2()


def test_fake_import_error_is_raised_while_set(fake):
    fake.state.import_error = ValueError("numpy.dtype size changed")
    sys.modules.pop("picamera2", None)
    with pytest.raises(ValueError, match=r"numpy\.dtype size changed"):
        importlib.import_module("picamera2")
    fake.state.import_error = None
    assert importlib.import_module("picamera2").Picamera2 is not None


# Parameter names and defaults read from raspberrypi/picamera2 at 3e6dff0 (May 2026).
# ANY: the real default is a libcamera object; only its presence is checked.
ANY = object()
EMPTY = inspect.Parameter.empty
REAL_SIGNATURES = {
    "picamera2.Picamera2.__init__": [
        ("camera_num", 0),
        ("verbose_console", None),
        ("tuning", None),
        ("allocator", None),
    ],
    "picamera2.Picamera2.global_camera_info": [],
    "picamera2.Picamera2.create_preview_configuration": [
        ("main", {}),
        ("lores", None),
        ("raw", {}),
        ("transform", ANY),
        ("colour_space", ANY),
        ("buffer_count", 4),
        ("controls", {}),
        ("display", "main"),
        ("encode", "main"),
        ("queue", True),
        ("sensor", {}),
        ("use_case", "preview"),
    ],
    "picamera2.Picamera2.create_still_configuration": [
        ("main", {}),
        ("lores", None),
        ("raw", {}),
        ("transform", ANY),
        ("colour_space", ANY),
        ("buffer_count", 1),
        ("controls", {}),
        ("display", None),
        ("encode", None),
        ("queue", True),
        ("sensor", {}),
        ("use_case", "still"),
    ],
    "picamera2.Picamera2.create_video_configuration": [
        ("main", {}),
        ("lores", None),
        ("raw", {}),
        ("transform", ANY),
        ("colour_space", None),
        ("buffer_count", 6),
        ("controls", {}),
        ("display", "main"),
        ("encode", "main"),
        ("queue", True),
        ("sensor", {}),
        ("use_case", "video"),
    ],
    "picamera2.Picamera2.configure": [("camera_config", None)],
    "picamera2.Picamera2.start": [("config", None), ("show_preview", False)],
    "picamera2.Picamera2.stop": [],
    "picamera2.Picamera2.close": [],
    "picamera2.Picamera2.capture_request": [
        ("wait", None),
        ("signal_function", None),
        ("flush", None),
    ],
    "picamera2.Picamera2.captured_request": [("wait", None), ("flush", None)],
    "picamera2.Picamera2.capture_array": [
        ("name", "main"),
        ("wait", None),
        ("signal_function", None),
    ],
    "picamera2.Picamera2.start_preview": [("preview", None), ("kwargs", EMPTY)],
    "picamera2.Picamera2.stop_preview": [],
    "picamera2.Picamera2.set_overlay": [("overlay", EMPTY)],
    "picamera2.Picamera2.stream_configuration": [("name", "main")],
    "picamera2.Picamera2.camera_configuration": [],
    "picamera2.Picamera2.cancel_all_and_flush": [],
    "picamera2.Picamera2.attach_preview": [("preview", EMPTY)],
    "picamera2.Picamera2.detach_preview": [],
    "picamera2.request.CompletedRequest.make_array": [("name", EMPTY)],
    "picamera2.request.CompletedRequest.make_buffer": [("name", EMPTY)],
    "picamera2.request.CompletedRequest.release": [],
    "picamera2.request.CompletedRequest.acquire": [],
    "picamera2.request.CompletedRequest.get_metadata": [],
    "picamera2.previews.null_preview.NullPreview.__init__": [
        ("x", None),
        ("y", None),
        ("width", None),
        ("height", None),
        ("transform", None),
    ],
    "picamera2.previews.null_preview.NullPreview.start": [("picam2", EMPTY)],
    "picamera2.previews.null_preview.NullPreview.stop": [],
    "picamera2.previews.null_preview.NullPreview.set_overlay": [("overlay", EMPTY)],
    "picamera2.previews.null_preview.NullPreview.render_request": [("completed_request", EMPTY)],
    "picamera2.previews.drm_preview.DrmPreview.__init__": [
        ("x", 0),
        ("y", 0),
        ("width", 640),
        ("height", 480),
        ("transform", None),
    ],
    "picamera2.previews.drm_preview.DrmPreview.set_overlay": [("overlay", EMPTY)],
    "picamera2.previews.drm_preview.DrmPreview.render_request": [("completed_request", EMPTY)],
}


def _resolve(dotted: str):
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_fake_signatures_match_the_real_library(fake):
    import picamera2

    assert [m.name for m in picamera2.Preview] == ["NULL", "DRM", "QT", "QTGL"]
    for dotted, expected in REAL_SIGNATURES.items():
        parameters = [
            p for p in inspect.signature(_resolve(dotted)).parameters.values() if p.name != "self"
        ]
        assert [p.name for p in parameters] == [name for name, _ in expected], dotted
        for parameter, (name, default) in zip(parameters, expected, strict=True):
            if default is ANY:
                assert parameter.default is not EMPTY, f"{dotted}({name}) needs a default"
            else:
                assert parameter.default == default, f"{dotted}({name})"


def _real_parameters(source: str, class_name: str) -> dict[str, list[str]]:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == class_name:
            found = {}
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    args = item.args
                    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
                    if args.kwarg:
                        names.append(args.kwarg.arg)
                    found[item.name] = [n for n in names if n != "self"]
            return found
    raise AssertionError(f"class {class_name} not found")


@pytest.fixture(scope="module")
def real_picamera2() -> Path:
    """The real library's source: ``CONVLENS_PICAMERA2_SRC`` (a checkout), or the wheel of
    ``REAL_VERSION`` from the package registry when it may be asked (CI), fetched once
    into ``~/.cache/convlens``; the test is skipped otherwise."""
    given = os.environ.get("CONVLENS_PICAMERA2_SRC")
    if given:
        return Path(given)
    if os.environ.get("CONVLENS_CHECK_PI_WHEELS") != "1":
        pytest.skip(
            "set CONVLENS_PICAMERA2_SRC to a picamera2 checkout, or CONVLENS_CHECK_PI_WHEELS=1 "
            f"to fetch picamera2 {REAL_VERSION} from the package registry"
        )
    cache = Path.home() / ".cache" / "convlens" / f"picamera2-{REAL_VERSION}"
    if not (cache / "picamera2" / "picamera2.py").is_file():
        with tempfile.TemporaryDirectory() as tmp:
            command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
            command += ["--only-binary=:all:", "-d", tmp, f"picamera2=={REAL_VERSION}"]
            subprocess.run(command, check=True, timeout=300)
            (wheel,) = Path(tmp).glob("picamera2-*.whl")
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(tmp + "/src")
            cache.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(tmp + "/src", cache)
    return cache


@pytest.mark.network
def test_signature_table_matches_the_real_picamera2_source(real_picamera2):
    root = real_picamera2 / "picamera2"
    files = {
        "Picamera2": root / "picamera2.py",
        "CompletedRequest": root / "request.py",
        "NullPreview": root / "previews" / "null_preview.py",
        "DrmPreview": root / "previews" / "drm_preview.py",
    }
    real = {name: _real_parameters(path.read_text(), name) for name, path in files.items()}
    for dotted, expected in REAL_SIGNATURES.items():
        class_name, method = dotted.split(".")[-2:]
        assert real[class_name][method] == [name for name, _ in expected], dotted


def _drm_camera():
    import picamera2

    camera = picamera2.Picamera2()
    camera.configure(camera.create_preview_configuration())
    camera.start_preview(picamera2.Preview.DRM)
    camera.start()
    return camera


@pytest.mark.parametrize("holds_gil", [False, True])
def test_fake_drm_commits_block_with_or_without_the_gil(fake, holds_gil):
    """Each DRM preview frame and each set_overlay is one commit of commit_seconds; held,
    the GIL stops every other Python thread for that long (kms++'s binding), released,
    they run meanwhile (the pure-Python kms binding's ioctl)."""
    import threading
    import time

    camera = _drm_camera()
    fake.state.commit_seconds = 0.05
    fake.state.commit_holds_gil = holds_gil
    ticks = []
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.002)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        time.sleep(0.02)
        start = time.perf_counter()
        camera.capture_request(wait=1.0).release()  # rendered: one commit
        camera.set_overlay(np.zeros((48, 64, 4), np.uint8))  # another
        took = time.perf_counter() - start
    finally:
        stop.set()
        ticker.join()
        camera.close()
    assert fake.state.commits == 2 and took >= 0.1
    during = [b - a for a, b in itertools.pairwise(ticks) if start <= a <= start + took]
    longest_gap = max(during, default=took)
    if holds_gil:
        assert longest_gap >= 0.045  # the other thread stood still through a commit
    else:
        assert longest_gap < 0.045  # it kept ticking
