"""The cameras the fake picamera2 can list: four Raspberry Pi sensors and a USB webcam.

Not part of the real library. Each sensor's modes are the ones its Raspberry Pi kernel
driver offers (raspberrypi/linux, drivers/media/i2c/):
    imx219.c (Camera Module 2)   supported_modes (current driver, crops computed in
                                 imx219_set_pad_format); 2-lane pixel rate 182.4 MHz, line
                                 length IMX219_PPL_DEFAULT 3448, IMX219_VBLANK_MIN 32, VTS max
                                 0xffff; the crop is the mode size x binning (2 when it fits,
                                 the same in both directions since the driver's "1:1 pixel
                                 aspect ratio" fix), centred in the 3296x2480 native array.
                                 Older Pi kernels (6.1) had per-mode crops and a doubled
                                 pixel rate for 640x480 (206.65 fps): same crops, faster VGA.
    imx477.c (HQ Camera)         supported_modes_12bit / _10bit: size, line_length_pix, crop,
                                 timeperframe_min; pixel rate 840 MHz, frame length max 0xffdc.
    imx708.c (Camera Module 3)   supported_modes_10bit_no_hdr: size, line_length_pix, crop,
                                 vblank_min, pixel_rate; frame length max 0xffff.
    ov5647.c (Camera Module 1)   ov5647_modes: size, crop, pixel_rate, hts; OV5647_VBLANK_MIN
                                 24, OV5647_VTS_MAX 32767.
Crops are given as libcamera reports them (``ScalerCrop`` maximum = the sensor's analogue
crop, in active-array coordinates: the driver's crop minus PIXEL_ARRAY_LEFT/TOP). The
shortest frame is line length x (height + minimum vertical blanking) / pixel rate, in whole
microseconds as libcamera's ``FrameDurationLimits`` has it, and ``fps`` is picamera2's
``round(1e6 / shortest, 2)``: these give the frame rates ``rpicam-hello --list-cameras``
prints for these sensors (IMX219 640x480 103.33, 1640x1232 41.85; IMX477 1332x990 120.05;
IMX708 1536x864 120.13, 2304x1296 56.03; OV5647 640x480 58.92 ...). The longest frame uses
the driver's maximum frame length (no long-exposure multiplier).

The USB webcam is what libcamera's UVC pipeline handler (src/libcamera/pipeline/uvcvideo/
uvcvideo.cpp) makes of one: the Id is the USB controller's firmware path, "-", the USB port
path, "-", vendor:product (UVCCameraData::generateId), so it contains "/usb"; properties are
Model (the USB product name), Location (external), PixelArraySize and
PixelArrayActiveAreas, with no Rotation and no ColorFilterArrangement (picamera2's
``_is_rpi_camera`` is False); controls are Brightness, Contrast, Saturation, AeEnable,
ExposureTime and AnalogueGain (no FrameDurationLimits); one stream; its raw formats are
not Bayer, so ``sensor_modes`` quotes only their names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SensorMode:
    """One mode of a sensor driver: what ``Picamera2.sensor_modes`` reports about it."""

    format: str
    size: tuple[int, int]
    crop: tuple[int, int, int, int]
    pixel_rate: float
    line_length: int
    min_frame_length: int
    max_frame_length: int

    @property
    def bit_depth(self) -> int:
        return int(self.format.split("_")[0].lstrip("SRGB"))

    @property
    def shortest_frame_us(self) -> int:
        return int(self.line_length * self.min_frame_length / self.pixel_rate * 1e6)

    @property
    def longest_frame_us(self) -> int:
        return int(self.line_length * self.max_frame_length / self.pixel_rate * 1e6)

    def as_picamera2(self) -> dict[str, Any]:
        """The dict ``sensor_modes`` lists (``exposure_limits`` is not modelled)."""
        return {
            "format": self.format,
            "unpacked": self.format.split("_")[0],
            "bit_depth": self.bit_depth,
            "size": self.size,
            "fps": round(1e6 / self.shortest_frame_us, 2),
            "crop_limits": self.crop,
        }


@dataclass(frozen=True)
class FakeCamera:
    """A camera model: what global_camera_info, camera_properties and sensor_modes say."""

    model: str
    id: str
    properties: dict[str, Any]
    modes: tuple[SensorMode, ...] = ()
    #: Non-Bayer raw formats (a USB camera's), quoted by name in sensor_modes.
    other_formats: tuple[str, ...] = ()
    controls: dict[str, tuple[Any, Any, Any]] = field(default_factory=dict)

    @property
    def is_usb(self) -> bool:
        return "/usb" in self.id

    def info(self, num: int) -> dict[str, Any]:
        """This camera's entry in global_camera_info (libcamera's camera number ``num``)."""
        keys = ("Model", "Location", "Rotation")
        entry = {k: self.properties[k] for k in keys if k in self.properties}
        return entry | {"Id": self.id, "Num": num}


def _imx219_modes() -> tuple[SensorMode, ...]:
    native, active, offset = (3296, 2480), (3280, 2464), (8, 8)
    modes = []
    for fmt in ("SRGGB10_CSI2P", "SRGGB8"):
        for width, height in ((640, 480), (1640, 1232), (1920, 1080), (3280, 2464)):
            binning = min(active[0] // width, active[1] // height, 2)  # the same both ways
            crop_w, crop_h = width * binning, height * binning
            left = (native[0] - crop_w) // 2 - offset[0]
            top = (native[1] - crop_h) // 2 - offset[1]
            crop = (left, top, crop_w, crop_h)
            modes.append(SensorMode(fmt, (width, height), crop, 182.4e6, 3448, height + 32, 0xFFFF))
    return tuple(modes)


def _imx477_modes() -> tuple[SensorMode, ...]:
    def mode(fmt, size, crop, line_length, fps):
        frame_length = max(int(840e6 / fps / line_length), size[1])
        return SensorMode(fmt, size, crop, 840e6, line_length, frame_length, 0xFFDC)

    return (
        mode("SRGGB10_CSI2P", (1332, 990), (696, 528, 2664, 1980), 6664, 120),
        mode("SRGGB12_CSI2P", (2028, 1080), (0, 440, 4056, 2160), 0x31C4, 50),
        mode("SRGGB12_CSI2P", (2028, 1520), (0, 0, 4056, 3040), 0x31C4, 40),
        mode("SRGGB12_CSI2P", (4056, 3040), (0, 0, 4056, 3040), 0x5DC0, 10),
    )


def _imx708_modes() -> tuple[SensorMode, ...]:
    def mode(size, crop, line_length, vblank_min, pixel_rate):
        frame = size[1] + vblank_min
        return SensorMode("SRGGB10_CSI2P", size, crop, pixel_rate, line_length, frame, 0xFFFF)

    return (
        mode((1536, 864), (768, 432, 3072, 1728), 0x1460, 40, 566.4e6),
        mode((2304, 1296), (0, 0, 4608, 2592), 0x1E90, 40, 585.6e6),
        mode((4608, 2592), (0, 0, 4608, 2592), 0x3D20, 58, 595.2e6),
    )


def _ov5647_modes() -> tuple[SensorMode, ...]:
    def mode(size, crop, pixel_rate, hts):
        return SensorMode("SGBRG10_CSI2P", size, crop, pixel_rate, hts, size[1] + 24, 32767)

    return (
        mode((640, 480), (16, 0, 2560, 1920), 55e6, 1852),
        mode((1296, 972), (0, 0, 2592, 1944), 81666700, 1896),
        mode((1920, 1080), (348, 434, 1928, 1080), 81666700, 2416),
        mode((2592, 1944), (0, 0, 2592, 1944), 87.5e6, 2844),
    )


def _csi_camera(model, cell, array, offset, cfa, rotation, path, modes) -> FakeCamera:
    properties = {
        "Model": model,
        "UnitCellSize": (cell, cell),
        "Location": 2,
        "Rotation": rotation,
        "ColorFilterArrangement": cfa,
        "PixelArraySize": array,
        "PixelArrayActiveAreas": [(*offset, *array)],
        "ScalerCropMaximum": (0, 0, 0, 0),
        "SystemDevices": (20749, 20737, 20738, 20739),
        "SensorSensitivity": 1.0,
    }
    return FakeCamera(model=model, id=path, properties=properties, modes=modes)


#: Raspberry Pi cameras by sensor name, as a Pi 4 (imx219, imx477, ov5647) or a Pi 5
#: (imx708, the fake's default) lists them.
CAMERAS: dict[str, FakeCamera] = {
    "imx219": _csi_camera("imx219", 1120, (3280, 2464), (8, 8), 0, 0,
                          "/base/soc/i2c0mux/i2c@1/imx219@10", _imx219_modes()),
    "imx477": _csi_camera("imx477", 1550, (4056, 3040), (8, 16), 0, 180,
                          "/base/soc/i2c0mux/i2c@1/imx477@1a", _imx477_modes()),
    "imx708": _csi_camera("imx708", 1400, (4608, 2592), (16, 24), 0, 180,
                          "/base/axi/pcie@120000/rp1/i2c@88000/imx708@1a", _imx708_modes()),
    "ov5647": _csi_camera("ov5647", 1400, (2592, 1944), (16, 6), 2, 0,
                          "/base/soc/i2c0mux/i2c@1/ov5647@36", _ov5647_modes()),
}  # fmt: skip

USB_WEBCAM = FakeCamera(
    model="HD Pro Webcam C920",
    id="/base/axi/pcie@120000/rp1/usb@200000-1:1.0-046d:082d",
    properties={
        "Model": "HD Pro Webcam C920",
        "Location": 2,  # external: the "removable" sysfs attribute is not "fixed"
        "PixelArraySize": (2304, 1536),
        "PixelArrayActiveAreas": [(0, 0, 2304, 1536)],
    },
    other_formats=("MJPEG", "YUYV"),
    # The names are the UVC pipeline's; the ranges depend on the webcam (only names are read).
    controls={
        "Brightness": (-1.0, 1.0, 0.0),
        "Contrast": (0.5, 2.0, 1.0),
        "Saturation": (0.0, 2.0, 1.0),
        "AeEnable": (False, True, True),
        "ExposureTime": (300, 204700, 25000),
        "AnalogueGain": (0.5, 4.0, 1.0),
    },
)


def camera_controls(camera: FakeCamera, mode: SensorMode | None) -> dict[str, tuple]:
    """``Picamera2.camera_controls`` for ``camera`` configured in ``mode``."""
    if camera.is_usb or mode is None:
        return dict(camera.controls)
    # Only the controls picamera2 itself looks at (create_*_configuration, sensor_modes);
    # minimums and defaults the code under test never reads are None.
    return {
        "FrameDurationLimits": (mode.shortest_frame_us, mode.longest_frame_us, None),
        "NoiseReductionMode": (0, 4, 0),  # libcamera draft enum: Off .. ZSL
        "ScalerCrop": (None, mode.crop, mode.crop),
    }
