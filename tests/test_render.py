"""``convlens render``: views as PNGs at the screen size asked for, any state, both languages."""

from __future__ import annotations

import cv2
import pytest

from app.cli import main
from app.views.text import recording_text


def test_render_writes_each_view_and_language_at_the_screen_size(tmp_path, capsys) -> None:
    out = tmp_path / "slides"
    args = ["render", "--view", "kernel,camera", "--lang", "all", "--screen", "1280x720"]
    code = main([*args, "--set", "stride=2", "--set", "kernel=sobel_x", "--out", str(out)])
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["camera-en.png", "camera-es.png", "kernel-en.png", "kernel-es.png"]
    assert capsys.readouterr().out.split() == [
        str(out / n) for n in ("kernel-en.png", "kernel-es.png", "camera-en.png", "camera-es.png")
    ]
    picture = cv2.imread(str(out / "kernel-es.png"))
    assert picture.shape == (720, 1280, 3)
    # The two languages draw different words on the same picture.
    assert (picture != cv2.imread(str(out / "kernel-en.png"))).any()


def test_render_from_a_photo(tmp_path) -> None:
    photo = tmp_path / "digit.png"
    picture = cv2.UMat.get(cv2.UMat(480, 640, cv2.CV_8UC3, (230, 230, 230)))
    cv2.putText(picture, "4", (260, 330), cv2.FONT_HERSHEY_SIMPLEX, 8, (20, 20, 20), 25)
    cv2.imwrite(str(photo), picture)
    out = tmp_path / "out"
    args = ["render", "--view", "camera", "--lang", "en", "--screen", "1024x768"]
    assert main([*args, "--source", str(photo), "--out", str(out)]) == 0
    assert cv2.imread(str(out / "camera-en.png")).shape == (768, 1024, 3)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--set", "stride=5"], "[view] stride = 5: expected one of 1, 2, 3, 4"),
        (["--set", "colour=red"], "[view] colour: unknown key"),
        (["--set", "stride"], "--set 'stride': expected KEY=VALUE"),
        (["--view", "slides"], "--view 'slides': expected all or one of camera"),
        (["--lang", "fr"], "--lang 'fr': expected all or one of en, es"),
    ],
)
def test_render_refuses_bad_choices_in_one_line(tmp_path, capsys, extra, message) -> None:
    assert main(["render", *extra, "--out", str(tmp_path)]) == 78
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_render_of_the_teach_view_shows_it_on_an_empty_collection(tmp_path, monkeypatch) -> None:
    """As the live view shows a first lesson: the sample counts, the fine-tune and the
    model in use, collecting on (it said "collecting is off" with no teacher); the user's
    own state directory is neither read nor written."""
    state = tmp_path / "state"
    monkeypatch.setenv("STATE_DIRECTORY", str(state))
    with recording_text() as drawn:
        code = main(["render", "--view", "teach", "--lang", "en", "--screen", "640x480",
                     "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 0
    texts = [d.text for d in drawn]
    assert "Your samples: 0" in texts
    assert any(t.startswith("model in use") for t in texts), texts
    assert not any("collecting is off" in t for t in texts), texts
    assert not state.exists()
    picture = cv2.imread(str(tmp_path / "out" / "teach-en.png"))
    assert picture.shape == (480, 640, 3)
