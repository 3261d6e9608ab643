"""Write the composed picture to a Linux framebuffer (/dev/fbN), letterboxed to the screen.

Geometry, stride and depth come from sysfs (``/sys/class/graphics/fbN``); the
channel order from the ``FBIOGET_VSCREENINFO`` ioctl when the device answers it
(an ordinary file standing in for the device does not: then the usual layouts are
assumed, RGB565, or XRGB8888 / RGB888 with blue in the lowest byte).

Per frame: compose the picture at the overlay's size (``compose.Composer``, which keeps
its buffers and the overlay's blend terms between frames) and convert the pixel format
straight into the mapped framebuffer, so the screen-sized picture is written once (no
staging copy, no write of the whole screen). The loop draws the overlay at the screen's
size (this display reports its mode as ``screen_size``); a smaller picture (an overlay at
the camera's size) is scaled on the way. An opaque overlay at the screen's size (the
processed views) is converted from RGBA straight into the screen. While it draws, the
text console is kept off the screen (``app.display.vt``).
"""

from __future__ import annotations

import fcntl
import logging
import mmap
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from app.display.base import Display
from app.display.compose import Composer, check_pair
from app.display.compose_tiles import is_opaque, pixel_words
from app.display.vt import ConsoleGraphicsMode
from app.errors import DisplayError
from app.frame import Frame
from app.screen import MAX_OVERLAY_SIZE, within

log = logging.getLogger(__name__)

FBIOGET_VSCREENINFO = 0x4600
# struct fb_var_screeninfo starts with xres, yres, xres_virtual, yres_virtual,
# xoffset, yoffset, bits_per_pixel, grayscale, then red/green/blue/transp
# bitfields (offset, length, msb_right); 40 u32 in all.
_VSCREENINFO = struct.Struct("=40I")


@dataclass(frozen=True)
class FbGeometry:
    """A framebuffer's layout: visible size, bytes per line and pixel format."""

    width: int
    height: int
    stride: int
    bits_per_pixel: int
    #: True when red is in the low bits (BGR order in the pixel value).
    red_low: bool = False

    @property
    def bytes_per_pixel(self) -> int:
        return self.bits_per_pixel // 8


def _read_sysfs(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise DisplayError(f"framebuffer: cannot read {path} ({exc.strerror or exc})") from exc


def read_geometry(sysfs_dir: Path) -> FbGeometry:
    """Geometry from ``virtual_size``, ``bits_per_pixel`` and ``stride`` in ``sysfs_dir``."""
    size_text = _read_sysfs(sysfs_dir / "virtual_size")
    bpp_text = _read_sysfs(sysfs_dir / "bits_per_pixel")
    stride_text = _read_sysfs(sysfs_dir / "stride")
    try:
        width, height = (int(v) for v in size_text.split(","))
        bpp = int(bpp_text)
        stride = int(stride_text)
    except ValueError as exc:
        raise DisplayError(
            f"framebuffer: unexpected sysfs values in {sysfs_dir} (virtual_size={size_text!r}, "
            f"bits_per_pixel={bpp_text!r}, stride={stride_text!r}); expected 'W,H', 16|24|32, int"
        ) from exc
    if bpp not in (16, 24, 32):
        raise DisplayError(f"framebuffer: {bpp} bits per pixel is not supported; expected 16/24/32")
    if width <= 0 or height <= 0 or stride < width * bpp // 8:
        raise DisplayError(
            f"framebuffer: inconsistent geometry {width}x{height}, stride {stride}, {bpp} bpp"
        )
    return FbGeometry(width=width, height=height, stride=stride, bits_per_pixel=bpp)


def _query_device(fd: int, geometry: FbGeometry) -> FbGeometry:
    """Refine the geometry with the device's visible size and channel order when it tells."""
    try:
        raw = fcntl.ioctl(fd, FBIOGET_VSCREENINFO, bytes(_VSCREENINFO.size))
    except OSError:
        return geometry  # not a framebuffer device (a stand-in file): keep sysfs's word
    info = _VSCREENINFO.unpack(raw)
    xres, yres, bpp = info[0], info[1], info[6]
    red_offset = info[8]
    width = xres if 0 < xres <= geometry.width else geometry.width
    height = yres if 0 < yres <= geometry.height else geometry.height
    red_low = bpp in (24, 32) and red_offset == 0
    return FbGeometry(width, height, geometry.stride, geometry.bits_per_pixel, red_low)


def _pixel_code(geometry: FbGeometry) -> int | None:
    """The cv2.cvtColor code from BGR to the framebuffer's byte order (None: BGR already)."""
    bpp = geometry.bits_per_pixel
    if bpp == 16:
        # OpenCV's BGR565 is the fbdev RGB565 value (red in the top 5 bits), little-endian.
        return cv2.COLOR_BGR2BGR565
    if bpp == 24:
        return cv2.COLOR_BGR2RGB if geometry.red_low else None
    return cv2.COLOR_BGR2RGBA if geometry.red_low else cv2.COLOR_BGR2BGRA


def _rgba_code(geometry: FbGeometry) -> int | None:
    """The cv2.cvtColor code from RGBA to the framebuffer's byte order (None: RGBA already)."""
    bpp = geometry.bits_per_pixel
    if bpp == 16:
        return cv2.COLOR_RGBA2BGR565
    if bpp == 24:
        return cv2.COLOR_RGBA2RGB if geometry.red_low else cv2.COLOR_RGBA2BGR
    return None if geometry.red_low else cv2.COLOR_RGBA2BGRA


def _hides_the_frame(overlay: np.ndarray, size: tuple[int, int]) -> bool:
    """True for an opaque (H, W, 4) overlay of the screen's ``size`` (w, h): the processed
    views' picture, which goes to the screen as it is, without the frame."""
    if overlay.shape[:2] != (size[1], size[0]):
        return False
    corners = overlay[[0, 0, -1, -1], [0, -1, 0, -1], 3]
    return bool((corners == 255).all()) and is_opaque(pixel_words(overlay))


def _into(result: np.ndarray, target: np.ndarray) -> None:
    """Make sure ``target`` holds ``result`` (OpenCV may have written elsewhere)."""
    if result is not target:
        np.copyto(target, result.reshape(target.shape))


def letterbox_rect(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the largest src-aspect rectangle centred in dst."""
    if src_w * dst_h > dst_w * src_h:
        w, h = dst_w, max(1, dst_w * src_h // src_w)
    else:
        w, h = max(1, dst_h * src_w // src_h), dst_h
    return (dst_w - w) // 2, (dst_h - h) // 2, w, h


class FramebufferDisplay(Display):
    """Composes frame and overlay and writes them, letterboxed, to a framebuffer.

    Args:
        device: the framebuffer device, e.g. ``/dev/fb0`` (any writable file works
            as a stand-in; it must be at least ``stride * height`` bytes).
        sysfs_dir: where ``virtual_size`` etc. live; default
            ``/sys/class/graphics/<device name>``.
        console: keeps the text console off the screen while open. By default a
            ``ConsoleGraphicsMode`` when ``device`` is a character device (a real
            framebuffer), none for a stand-in file; None for never.
    """

    def __init__(
        self,
        device: str = "/dev/fb0",
        *,
        sysfs_dir: str | os.PathLike | None = None,
        console: ConsoleGraphicsMode | Literal["auto"] | None = "auto",
    ):
        self.device = device
        self.sysfs_dir = Path(sysfs_dir or Path("/sys/class/graphics") / Path(device).name)
        self.description = f"framebuffer {device}"
        self.owns_screen = True
        self.geometry: FbGeometry | None = None
        self._console = console
        self._fd: int | None = None
        self._map: mmap.mmap | None = None
        self._screen: np.ndarray | None = None
        self._scaled: np.ndarray | None = None
        self._scaling = False
        self._converted: np.ndarray | None = None
        self._rect: tuple[int, int, int, int] | None = None
        self._source_size: tuple[int, int] | None = None
        self._composer = Composer()

    def open(self) -> None:
        geometry = read_geometry(self.sysfs_dir)
        try:
            fd = os.open(self.device, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            hint = " (is the user in the 'video' group?)" if exc.errno == 13 else ""
            raise DisplayError(
                f"framebuffer: cannot open {self.device}: {exc.strerror}{hint}"
            ) from exc
        self._fd = fd
        self.geometry = g = _query_device(fd, geometry)
        if self._console == "auto":
            self._console = ConsoleGraphicsMode() if _is_char_device(fd) else None
        if isinstance(self._console, ConsoleGraphicsMode):
            self._console.enter()  # before clearing, or fbcon may draw again
        try:
            self._map = mmap.mmap(fd, g.stride * g.height, mmap.MAP_SHARED)
            self._screen = np.frombuffer(self._map, np.uint8).reshape(g.height, g.stride)
        except (OSError, ValueError) as exc:
            # No mmap (or a short stand-in file): one screen-sized buffer, written with pwrite.
            log.info("framebuffer %s: not mapped (%s); writing rows instead", self.device, exc)
            self._map = None
            self._screen = np.zeros((g.height, g.stride), np.uint8)
        self._scaled = None
        self._rect = None
        self._source_size = None
        # The loop draws the overlay at this size: sharp on this screen, no scaling here
        # (up to 1920x1080; a larger screen gets that, scaled up in one resize).
        self.screen_size = within((g.width, g.height), MAX_OVERLAY_SIZE)
        self._clear()
        log.info(
            "framebuffer %s: %dx%d, %d bpp, stride %d%s",
            self.device,
            g.width,
            g.height,
            g.bits_per_pixel,
            g.stride,
            ", mapped" if self._map is not None else "",
        )

    def clear(self) -> None:
        """Black the whole screen (what the DRM display leaves under its camera picture)."""
        if self._screen is not None:
            self._clear()

    def _clear(self) -> None:
        # The letterbox bars stay black: written once, not per frame.
        self._screen[:] = 0
        self._flush(0, self._screen.shape[0])

    def _flush(self, first_row: int, rows: int) -> None:
        """Send rows of the staging buffer to the device (a mapped screen has them already)."""
        if self._map is not None:
            return
        data = self._screen[first_row : first_row + rows]
        written = os.pwrite(self._fd, data.data, first_row * self.geometry.stride)
        if written != data.nbytes:
            raise DisplayError(
                f"framebuffer: short write to {self.device} ({written} of {data.nbytes} bytes)"
            )

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        if self._fd is None or self.geometry is None or self._screen is None:
            raise DisplayError("framebuffer: show() before open()")
        g = self.geometry
        check_pair(frame.array, overlay)
        # An opaque overlay at the screen's size (a processed view) is converted straight
        # into the screen: no BGR picture in between, one pass over the screen's pixels.
        direct = _hides_the_frame(overlay, (g.width, g.height))
        picture = overlay if direct else self._composer.compose(frame.array, overlay)
        src_h, src_w = picture.shape[:2]
        if self._source_size != (src_w, src_h):
            self._source_size = (src_w, src_h)
            self._rect = letterbox_rect(src_w, src_h, g.width, g.height)
            x, y, w, h = self._rect
            scaling = (w, h) != (src_w, src_h)
            # RGB565 is scaled before it is packed; the other formats after conversion.
            packed = g.bits_per_pixel == 16
            self._scaled = np.empty((h, w, 3), np.uint8) if scaling and packed else None
            self._scaling = scaling
            self._converted = None
            self._clear()
        x, y, w, h = self._rect
        bpp = g.bytes_per_pixel
        target = self._screen[y : y + h, x * bpp : (x + w) * bpp].reshape(h, w, bpp)
        if direct:
            code = _rgba_code(g)
            if code is None:
                np.copyto(target, picture)
            else:
                _into(cv2.cvtColor(picture, code, dst=target), target)
        else:
            self._draw(picture, target)
        self._flush(y, h)  # only the rows that carry the picture change

    def _draw(self, picture: np.ndarray, target: np.ndarray) -> None:
        """Scale and convert (h, w, 3) BGR into ``target``, a view of the screen.

        8-bit channels are converted at the camera's size and scaled straight into the
        screen (the fewest bytes touched); RGB565 cannot be interpolated once packed, so it
        is scaled first and packed into the screen.
        """
        h, w = target.shape[:2]
        interpolation = cv2.INTER_AREA if w < picture.shape[1] else cv2.INTER_LINEAR
        code = _pixel_code(self.geometry)
        if self.geometry.bits_per_pixel == 16:
            if self._scaling:
                picture = cv2.resize(picture, (w, h), dst=self._scaled, interpolation=interpolation)
            _into(cv2.cvtColor(picture, code, dst=target), target)
            return
        if not self._scaling:
            if code is None:
                np.copyto(target, picture)
            else:  # straight into the screen: no picture-sized copy in between
                _into(cv2.cvtColor(picture, code, dst=target), target)
            return
        if code is not None:
            picture = cv2.cvtColor(picture, code, dst=self._converted)
            self._converted = picture  # kept for the next frame
        _into(cv2.resize(picture, (w, h), dst=target, interpolation=interpolation), target)

    def close(self) -> None:
        if isinstance(self._console, ConsoleGraphicsMode):
            self._console.leave()
        self._screen = None
        self._scaled = None
        if self._map is not None:
            try:
                self._map.close()
            except BufferError as exc:  # a view still alive; the mapping goes with it
                log.debug(
                    "framebuffer %s: mapping left to the garbage collector: %s", self.device, exc
                )
            self._map = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _is_char_device(fd: int) -> bool:
    return stat.S_ISCHR(os.fstat(fd).st_mode)
