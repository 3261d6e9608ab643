"""Teach it your handwriting: write a digit, hold it in the square, type what it is.

Over the camera picture (the square must stay visible): on the left the samples
collected per digit and the newest ones; on the right the 28x28 the network sees and
what it reads, then the fine-tune (progress, epoch, loss and held-back accuracy per
epoch, before and after) and the model in use. While this view is shown the digit keys
save the digit in the square under that label (they do not switch views), Backspace
undoes the last sample, Enter starts or stops the fine-tune, r goes back to the shipped
model and Escape goes back to the camera view.
"""

from __future__ import annotations

from types import MappingProxyType

import cv2
import numpy as np

from app.i18n import N_, tr
from app.learn.results import DONE, FAILED, RUNNING, STOPPED, FinetuneProgress, TeachResult
from app.stages.results import DIGIT, FrameResults
from app.state import ViewState
from app.views import cells, teach_panels
from app.views.base import BODY, MARGIN, SMALL, Body, Canvas, View
from app.views.draw import AMBER, CYAN, GREEN, GREY, RED, WHITE, Line, blit, to_rgba

#: Column widths (640x480 units): the collection on the left, the network on the right.
LEFT_W, RIGHT_W = 178, 196


class TeachView(View):
    """The collection, the network's reading and the fine-tune, around the camera's square."""

    name = "teach"
    title = N_("TEACH IT YOUR HANDWRITING")
    key = "e"
    description = N_("teach it your handwriting")
    stages = ("digit",)
    opaque = False
    actions = MappingProxyType(
        {
            "label_0": N_("save as 0"),
            "label_1": N_("save as 1"),
            "label_2": N_("save as 2"),
            "label_3": N_("save as 3"),
            "label_4": N_("save as 4"),
            "label_5": N_("save as 5"),
            "label_6": N_("save as 6"),
            "label_7": N_("save as 7"),
            "label_8": N_("save as 8"),
            "label_9": N_("save as 9"),
            "undo_sample": N_("undo the last sample"),
            "toggle_finetune": N_("fine-tune: start / stop"),
            "use_shipped_model": N_("back to the shipped model"),
        }
    )
    keys = MappingProxyType(
        {
            **{str(d): f"label_{d}" for d in range(10)},
            "Backspace": "undo_sample",
            "Enter": "toggle_finetune",
            "r": "use_shipped_model",
            "Escape": "view_camera",
        }
    )
    key_groups = MappingProxyType({"label_": N_("label the digit in the square")})

    def draw(
        self, canvas: Canvas, layer: np.ndarray, state: ViewState, results: FrameResults, body: Body
    ) -> None:
        teach_panels.roi_square(canvas, layer, state, results.digit, body)
        m = canvas.px(MARGIN)
        left = (m, body.top + m, canvas.px(LEFT_W), body.bottom - m)
        right = (canvas.width - canvas.px(RIGHT_W) - m, m, canvas.px(RIGHT_W))
        teach = results.teach
        if teach is None:
            note = Line(tr("collecting is off in this run (convlens run collects)"), BODY, AMBER)
            blit(layer, canvas.panel([note], opaque=False, width=left[2]), left[0], left[1])
            return
        _collection(canvas, layer, teach, left)
        y = _network(canvas, layer, results, right)
        y = _finetune(canvas, layer, teach.progress, (right[0], y + m, right[2]))
        _model(canvas, layer, teach, (right[0], y + m, right[2]))


def _collection(
    canvas: Canvas, layer: np.ndarray, teach: TeachResult, where: tuple[int, int, int, int]
) -> None:
    """Samples per digit as bars, the newest samples (as many rows as fit), the keys."""
    x, y, w, bottom = where
    total = sum(teach.counts)
    lines = [
        Line(tr("Your samples: {n}").format(n=cells.count_text(total)), BODY, CYAN, True),
        Line(tr("write a digit, hold it in the square, type it: 0-9"), SMALL, WHITE),
        Line(tr("Backspace: undo the last sample"), SMALL, GREY),
    ]
    if teach.problem:
        lines.append(
            Line(tr("collecting is off: {reason}").format(reason=teach.problem), SMALL, RED)
        )
    head = canvas.panel(lines, opaque=False, width=w)
    blit(layer, head, x, y)
    y += head.shape[0] + canvas.px(4)
    y += teach_panels.count_bars(canvas, layer, teach.counts, (x, y, w)) + canvas.px(4)
    teach_panels.recent_strip(canvas, layer, teach.recent, (x, y, w, bottom - y))


def _network(
    canvas: Canvas, layer: np.ndarray, results: FrameResults, where: tuple[int, int, int]
) -> int:
    """The 28x28 the network sees in the square and what it reads; returns the y below."""
    x, y, w = where
    digit = results.digit
    side = canvas.px(70)
    if digit is not None and digit.status == DIGIT and digit.prediction is not None:
        reading = Line(tr("it reads {n}").format(n=digit.prediction), BODY, GREEN, True)
    else:
        reason = tr(digit.reason) if digit is not None and digit.reason else tr("no digit")
        reading = Line(reason, BODY, AMBER, True)
    lines = [Line(tr("the network sees"), SMALL, WHITE), reading]
    text = canvas.panel(lines, opaque=False, width=w - side - canvas.px(4), volatile=True)
    tensor = digit.tensor if digit is not None else None
    image = np.zeros((28, 28), np.uint8)
    if tensor is not None:
        image = np.clip(np.asarray(tensor, np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    picture = to_rgba(cv2.resize(image, (side, side), interpolation=cv2.INTER_NEAREST))
    cv2.rectangle(picture, (0, 0), (side - 1, side - 1), (*GREY, 255), 1)
    blit(layer, picture, x, y)
    blit(layer, text, x + side + canvas.px(4), y)
    return y + max(side, text.shape[0])


def _finetune(
    canvas: Canvas, layer: np.ndarray, progress: FinetuneProgress, where: tuple[int, int, int]
) -> int:
    """The fine-tune's state, progress bar, curves and scores; returns the y below."""
    x, y, w = where
    lines = [Line(tr("Fine-tune"), BODY, CYAN, True), *_state_lines(progress)]
    panel = canvas.panel(lines, opaque=False, width=w, volatile=True)
    blit(layer, panel, x, y)
    y += panel.shape[0]
    if progress.state in (RUNNING, DONE) and progress.epochs:
        y += canvas.px(3) + teach_panels.progress_bar(canvas, layer, progress, (x, y, w))
    if progress.losses:
        y += canvas.px(3) + teach_panels.curves(canvas, layer, progress, (x, y, w))
    scores = _score_lines(progress)
    if scores:
        panel = canvas.panel(scores, opaque=False, width=w, volatile=True)
        blit(layer, panel, x, y + canvas.px(3))
        y += canvas.px(3) + panel.shape[0]
    return y


def _state_lines(progress: FinetuneProgress) -> list[Line]:
    if progress.state == RUNNING:
        if not progress.epochs:
            return [Line(tr("starting: reading the samples and MNIST"), SMALL, WHITE)]
        text = tr("epoch {e} of {n}, {s} s").format(
            e=progress.epoch, n=progress.epochs, s=round(progress.seconds)
        )
        return [Line(text, SMALL, WHITE), Line(tr("Enter: stop"), SMALL, GREY)]
    if progress.state == DONE:
        text = tr("done in {s} s: checked and installed").format(s=round(progress.seconds))
        return [Line(text, SMALL, GREEN, True)]
    if progress.state == FAILED:
        failed = tr("failed: {reason}").format(reason=progress.reason)
        return [Line(failed, SMALL, RED, True), Line(tr("the model in use is unchanged"), SMALL)]
    if progress.state == STOPPED:
        return [Line(tr("stopped: nothing installed"), SMALL, AMBER, True)]
    return [Line(tr("Enter: fine-tune the network on your samples"), SMALL, WHITE)]


def _score_lines(progress: FinetuneProgress) -> list[Line]:
    """Held-back accuracy before and after (or now), MNIST after."""
    if progress.before is None:
        return []
    before = round(100 * progress.before)
    if progress.after is not None:
        after, colour = round(100 * progress.after), GREEN
    elif progress.held_back:
        after, colour = round(100 * progress.held_back[-1]), WHITE
    else:
        return [Line(tr("held back: {a}% before").format(a=before), SMALL, WHITE)]
    lines = [Line(tr("held back: {a}% → {b}%").format(a=before, b=after), BODY, colour)]
    if progress.mnist_after is not None:
        mnist = f"{100 * progress.mnist_after:.1f}"
        lines.append(Line(tr("MNIST after: {p}%").format(p=mnist), SMALL, GREY))
    return lines


def _model(
    canvas: Canvas, layer: np.ndarray, teach: TeachResult, where: tuple[int, int, int]
) -> None:
    """The model in use and, for a fine-tuned one, its scores and the way back."""
    x, y, w = where
    if teach.model == "shipped":
        lines = [Line(tr("model in use: shipped"), SMALL, WHITE, True)]
    else:
        stamp = teach_panels.model_time(teach.model)
        lines = [Line(tr("model in use: fine-tuned {when}").format(when=stamp), SMALL, GREEN, True)]
        scores = teach.model_scores
        if "before" in scores and "after" in scores:
            text = tr("held back: {a}% → {b}%").format(
                a=round(100 * scores["before"]), b=round(100 * scores["after"])
            )
            lines.append(Line(text, SMALL, WHITE))
        lines.append(Line(tr("r: back to the shipped model"), SMALL, GREY))
    blit(layer, canvas.panel(lines, opaque=False, width=w), x, y)
