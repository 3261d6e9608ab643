"""The TOML config: the example loads, defaults, one-line errors for unknown keys and bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import Config, check_kernel_name, config_from_dict, load_config, parse_size
from app.errors import ConfigError
from app.state import Roi, ViewState

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_loads_and_matches_the_defaults_it_documents() -> None:
    config = load_config(EXAMPLE)
    defaults = Config()
    for section in (
        "source",
        "display",
        "web",
        "controls",
        "model",
        "snapshot",
        "logging",
        "faults",
    ):
        assert getattr(config, section) == getattr(defaults, section), section
    assert config.view == ViewState()
    assert config.custom_kernels["laplacian_diagonal"][1] == (1.0, -8.0, 1.0)
    assert set(config.stages) == {"kernel", "pool", "digit", "number", "features"}


def test_example_documents_every_key() -> None:
    text = EXAMPLE.read_text()
    from app.config import SECTIONS
    from app.settings import rules

    for section, cls in SECTIONS.items():
        assert f"[{section}]" in text, section
        for key in rules(cls):
            assert f"\n{key} = " in text, f"[{section}] {key} missing from the example"


def test_none_gives_defaults() -> None:
    assert load_config(None) == Config()


def test_values_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[source]
spec = "demo:3"
width = 320
height = 240
fps = 15
[web]
port = 9000
[view]
view = "pooling"
stride = 2
roi_cx = 0.25
roi_size = 0.3
show_help = true
[stages.kernel]
processing_width = 160
""",
    )
    config = load_config(path)
    assert config.source.spec == "demo:3" and config.source.size == (320, 240)
    assert config.source.fps == 15.0 and isinstance(config.source.fps, float)
    assert config.web.port == 9000
    assert config.view.view == "pooling" and config.view.stride == 2 and config.view.show_help
    assert config.view.roi == Roi(cx=0.25, cy=0.5, size=0.3)
    assert config.stages["kernel"]["processing_width"] == 160


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("[source]\nspecc = 'demo'\n", ["[source] specc", "unknown key", "spec, width"]),
        ("[sauce]\nspec = 'demo'\n", ["[sauce]", "unknown section", "source"]),
        ("[view]\nstride = 5\n", ["[view] stride = 5", "one of 1, 2, 3, 4"]),
        ("[view]\nview = 'kernels'\n", ['[view] view = "kernels"', '"camera"']),
        ("[source]\nwidth = 'wide'\n", ['[source] width = "wide"', "an integer"]),
        ("[source]\nwidth = 8\n", ["[source] width = 8", "from 16 to 4096"]),
        ("[source]\nloop = 1\n", ["[source] loop = 1", "true or false"]),
        ("[web]\nport = true\n", ["[web] port = true", "an integer"]),
        ("[source]\nfps = 0\n", ["[source] fps = 0", "> 0"]),
        ("[model]\nbackend = 'cuda'\n", ['[model] backend = "cuda"', '"litert"']),
        ("[logging]\nlevel = 'loud'\n", ['"loud"', '"debug"']),
        ("[stages.blur]\nx = 1\n", ["[stages.blur]", "unknown stage", "kernel"]),
        ("[kernels.custom]\nbig = [[1, 2], [3, 4]]\n", ["[kernels.custom] big", "odd-sized"]),
        ("[kernels.custom]\nBad-Name = [[1]]\n", ["[kernels.custom] Bad-Name", "bad name"]),
        ("[kernels.custom]\nt = [[true]]\n", ["[kernels.custom] t", "numbers"]),
        (
            "[faults]\nretry_initial_s = 4.0\nretry_max_s = 1.0\n",
            ["retry_max_s", ">= retry_initial_s"],
        ),
        ("[view\n", ["not valid TOML"]),
    ],
)
def test_bad_config_is_one_line_naming_key_value_and_allowed(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment in message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.toml")


def test_overrides_are_checked_like_the_file() -> None:
    config = Config().with_section("source", spec="demo", fps=10.0)
    assert config.source.spec == "demo" and config.source.fps == 10.0
    with pytest.raises(ConfigError, match=r"\[web\] port = 70000"):
        Config().with_section("web", port=70000)
    with pytest.raises(ConfigError, match=r"\[view\] view"):
        Config().with_section("view", view="nope")


def test_config_is_frozen() -> None:
    config = config_from_dict({"stages": {"kernel": {"processing_width": 8}}})
    with pytest.raises(AttributeError):
        config.source = None  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.stages["kernel"]["processing_width"] = 9  # type: ignore[index]


def test_parse_size() -> None:
    assert parse_size("640x480") == (640, 480)
    assert parse_size("1280X720") == (1280, 720)
    for bad in ("640", "640x", "axb", "8x8", "99999x10"):
        with pytest.raises(ConfigError, match="--size"):
            parse_size(bad)


def test_check_kernel_name() -> None:
    check_kernel_name(Config(), ["horizontal_edge", "sobel_x"])
    with pytest.raises(ConfigError, match=r'\[view\] kernel = "horizontal_edge".*"sobel_x"'):
        check_kernel_name(Config(), ["sobel_x"])


def test_example_stage_sections_are_accepted_by_the_real_stages() -> None:
    from app.stages.pipeline import build_stages

    config = load_config(EXAMPLE)
    stages = build_stages(config, None)
    from app.stages.pipeline import STAGE_ORDER

    assert [s.name for s in stages] == list(STAGE_ORDER)
    assert "laplacian_diagonal" in stages[0].kernels
