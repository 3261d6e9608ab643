"""Config paths the process cannot reach are refused at start with the setting's name.

Tests run as root here, and root enters any folder, so the sandbox is played by an
``access`` stand-in that refuses what ProtectHome=yes and ProtectSystem=strict refuse
the service. The arm64 test bed (tests/pios) checks the same under the real unit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cli import EXIT_CONFIG, main
from app.config import Config
from app.config_paths import check_config_paths, config_paths
from app.errors import ConfigError


def sandbox(hidden: Path, read_only: Path | None = None):
    """An os.access that hides ``hidden`` and makes ``read_only`` unwritable."""

    def access(path: Path, mode: int) -> bool:
        path = Path(path)
        if path == hidden and mode & os.X_OK:
            return False
        if read_only is not None and mode & os.W_OK:
            return not (path == read_only or read_only in path.parents)
        return True

    return access


def config(**sections: dict) -> Config:
    result = Config()
    for section, values in sections.items():
        result = result.with_section(section, **values)
    return result


@pytest.mark.parametrize(
    ("sections", "setting"),
    [
        ({"model": {"path": "{home}/pi/lenet.tflite"}}, "[model] path"),
        ({"source": {"spec": "file:{home}/pi/clip.mp4"}}, "[source] spec"),
        ({"source": {"spec": "images:{home}/pi/digits"}}, "[source] spec"),
        ({"snapshot": {"directory": "{home}/pi/snaps"}}, "[snapshot] directory"),
    ],
)
def test_paths_under_a_hidden_home_name_the_setting_and_the_allowed_places(
    tmp_path, sections, setting
):
    home = tmp_path / "home"
    (home / "pi").mkdir(parents=True)
    filled = {
        name: {k: v.replace("{home}", str(home)) for k, v in values.items()}
        for name, values in sections.items()
    }
    with pytest.raises(ConfigError) as exc:
        check_config_paths(config(**filled), access=sandbox(home))
    message = str(exc.value)
    assert message.startswith(setting)
    assert f"cannot enter {home}" in message
    assert "/var/lib/convlens" in message
    assert "\n" not in message


def test_the_real_home_folder_gets_the_sandbox_reason(tmp_path):
    with pytest.raises(ConfigError, match=r"hidden by the service's ProtectHome=yes"):
        check_config_paths(
            config(model={"path": "/home/pi/lenet.tflite"}), access=sandbox(Path("/home"))
        )


def test_reachable_paths_pass(tmp_path):
    models = tmp_path / "opt"
    models.mkdir()
    check_config_paths(
        config(model={"path": str(models / "m.tflite")}, snapshot={"directory": str(tmp_path)}),
        access=sandbox(tmp_path / "home"),
    )


def test_snapshot_folder_on_a_read_only_mount_is_refused(tmp_path):
    read_only = tmp_path / "srv"
    read_only.mkdir()
    with pytest.raises(ConfigError) as exc:
        check_config_paths(
            config(snapshot={"directory": str(read_only / "snaps")}),
            access=sandbox(tmp_path / "home", read_only),
        )
    assert str(exc.value).startswith("[snapshot] directory")
    assert f"{read_only} is not writable" in str(exc.value)


def test_relative_snapshot_folder_counts_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=str(tmp_path)):
        check_config_paths(Config(), access=sandbox(Path("/nowhere"), tmp_path))


def test_only_path_settings_are_checked():
    names = [s for s, _, _ in config_paths(config(source={"spec": "usb:0"}))]
    assert names == ["[snapshot] directory"]
    assert [w for _, _, w in config_paths(config(model={"path": "m.tflite"}))] == [False, True]


def test_run_exits_78_before_opening_anything(tmp_path, monkeypatch, capsys):
    """The check runs at start: a bad path is a config error, which systemd never restarts."""
    monkeypatch.setattr("app.config_paths._access", sandbox(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[model]\npath = "{tmp_path}/home/pi/lenet.tflite"\n')
    assert main(["run", "--config", str(cfg), "--display", "null"]) == EXIT_CONFIG
    assert "[model] path" in capsys.readouterr().err
