"""The fake picamera2's cameras against the real ones: lists, sensor modes, mode choice, USB.

The sensor mode tables come from the Raspberry Pi kernel drivers (see _sensors.py); the
figures below are what ``rpicam-hello --list-cameras`` and picamera2's ``sensor_modes``
print on real Pis for these sensors.
"""

from __future__ import annotations

import pytest

from tests.fakes import use_fake_picamera2


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
