"""``convlens render``: any state of any view as a PNG, for slides and handouts.

The picture is what the live app shows: the demo scene (or a photo) through the real
stages and the real capture loop, the view drawn at the screen resolution asked for
(1920x1080 by default, the projector's), in each language asked for. The state comes
from the config's ``[view]`` section with ``--set key=value`` on top (the same keys and
checks), e.g. ``--set kernel=sobel_x --set stride=2``. The teach view is drawn as on an
empty collection (nothing of the user's is read or written).
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from app.config import Config, config_from_dict
from app.display.base import Display
from app.display.compose import compose
from app.errors import ConfigError, ModelError, SourceError
from app.frame import Frame
from app.i18n import LANGUAGES
from app.loop import TEACH_VIEW, CaptureLoop, LoopOptions
from app.sources.base import Source
from app.state import ViewState
from app.views import view_names

if TYPE_CHECKING:
    from app.learn.teacher import Teacher

log = logging.getLogger(__name__)

#: Frames run before the picture is taken: the digit smoother shows its digit by then.
DEFAULT_FRAMES = 8


class _LastPicture(Display):
    """Keeps the last frame and overlay the loop showed."""

    description = "render"

    def __init__(self) -> None:
        self.frame: Frame | None = None
        self.overlay: np.ndarray | None = None

    def open(self) -> None:
        pass

    def show(self, frame: Frame, overlay: np.ndarray) -> None:
        self.frame, self.overlay = frame, overlay

    def close(self) -> None:
        pass


class StillSource(Source):
    """One photo, handed out as a live camera would (the same picture every frame).

    Args:
        path: a photo file (read through ``app.imageio``'s checks).
        size: (width, height) it is fitted into, aspect kept, like a camera's frames.
    """

    def __init__(self, path: str | Path, size: tuple[int, int] = (640, 480)) -> None:
        self.path = Path(path)
        self.size = size
        self.description = f"image {self.path.name}"
        self._picture: np.ndarray | None = None
        self._seq = 0

    def open(self) -> None:
        from app.imageio import PhotoError, read_photo

        try:
            picture = read_photo(self.path)
        except PhotoError as exc:
            raise SourceError(str(exc)) from exc
        h, w = picture.shape[:2]
        scale = min(self.size[0] / w, self.size[1] / h)
        fitted = (max(16, round(w * scale)), max(16, round(h * scale)))
        self._picture = cv2.resize(picture, fitted, interpolation=cv2.INTER_AREA)

    def read(self) -> Frame | None:
        if self._picture is None:
            raise SourceError(f"{self.description}: read() before open()")
        self._seq += 1
        gray = cv2.cvtColor(self._picture, cv2.COLOR_BGR2GRAY)
        return Frame(self._picture, gray, self._seq, time.monotonic())

    def close(self) -> None:
        self._picture = None


def parse_settings(config: Config, settings: Sequence[str]) -> ViewState:
    """The config's ``[view]`` state with ``key=value`` settings on top, checked like
    the config file (``stride=2``, ``kernel=sobel_x``, ``frozen=true``)."""
    values: dict[str, object] = {}
    for item in settings:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. stride=2")
        values[key.strip()] = _scalar(text.strip())
    view = config_from_dict({"view": values}).view if values else ViewState()
    base = config.view
    changed = {k: getattr(view, k) for k in view.__dataclass_fields__ if k in values}
    if any(k.startswith("roi_") for k in values):
        changed["roi"] = view.roi
    return base.with_changes(**{k: v for k, v in changed.items() if not k.startswith("roi_")})


def _scalar(text: str) -> object:
    """A ``--set`` value as TOML would read it: true/false, a number, else the text."""
    if text in ("true", "false"):
        return text == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def render_views(
    config: Config,
    pipeline: object,
    source_factory: object,
    *,
    views: Sequence[str],
    languages: Sequence[str],
    state: ViewState,
    screen: tuple[int, int],
    out_dir: Path,
    frames: int = DEFAULT_FRAMES,
) -> list[Path]:
    """Write ``<view>-<lang>.png`` into ``out_dir`` for each view and language; return them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for view in views:
        for lang in languages:
            display = _LastPicture()
            source = source_factory()  # type: ignore[operator]
            with _empty_teacher(config, view) as teacher:
                options = LoopOptions(screen=screen, faults=config.faults, teacher=teacher)
                loop = CaptureLoop(
                    source, display, pipeline,  # type: ignore[arg-type]
                    state=state.with_changes(view=view, language=lang), options=options,
                    stop_event=threading.Event(),
                )  # fmt: skip
                loop.run(max_frames=frames)
            if display.frame is None or display.overlay is None:
                raise SourceError(f"render: no frame from {source.description}")
            path = out_dir / f"{view}-{lang}.png"
            if not cv2.imwrite(str(path), compose(display.frame.array, display.overlay)):
                raise OSError(f"render: could not write {path}")
            written.append(path)
    return written


@contextmanager
def _empty_teacher(config: Config, view: str) -> Iterator[Teacher | None]:
    """For the teach view, a teacher over an empty collection in a temporary folder: the
    picture is the live view's on a first lesson (collecting on, no samples, the configured
    model), and nothing of the user's collection is read or written. None for other views.
    """
    if view != TEACH_VIEW:
        yield None
        return
    from app.learn.models import SHIPPED, ModelChoice, configured_choice
    from app.learn.teacher import Teacher, TeachSettings

    try:
        model = configured_choice(config)
    except ModelError:  # the digit stage says why; the teach view only names the model
        model = ModelChoice(SHIPPED, Path(config.model.path))
    with tempfile.TemporaryDirectory(prefix="convlens-render-") as folder:
        settings = TeachSettings(Path(folder) / "collection", Path(folder) / "models")
        teacher = Teacher(config, settings, model)
        try:
            yield teacher
        finally:
            teacher.close()


def check_choices(views: str, lang: str) -> tuple[list[str], list[str]]:
    """``--view`` and ``--lang`` as lists (``all`` expands); ConfigError when unknown."""
    names = list(view_names())
    chosen_views = names if views == "all" else [v.strip() for v in views.split(",")]
    for view in chosen_views:
        if view not in names:
            raise ConfigError(f"--view {view!r}: expected all or one of {', '.join(names)}")
    chosen_langs = list(LANGUAGES) if lang == "all" else [lang]
    for code in chosen_langs:
        if code not in LANGUAGES:
            raise ConfigError(f"--lang {code!r}: expected all or one of {', '.join(LANGUAGES)}")
    return chosen_views, chosen_langs
