"""configure_logging: <N> priority lines without timestamps on the journal, timestamps elsewhere."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

import pytest

from app.errors import ConfigError
from app.logging_setup import configure_logging, stderr_is_journal, syslog_priority

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ")


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def journal_env_for(stream) -> dict[str, str]:
    st = os.fstat(stream.fileno())
    return {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}


def flush_root() -> None:
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_journal_lines_carry_priority_and_no_timestamp(tmp_path):
    path = tmp_path / "stderr.txt"
    with path.open("w") as stream:
        configure_logging("debug", stream=stream, environ=journal_env_for(stream))
        log = logging.getLogger("app.sources.test")
        log.debug("probing")
        log.info("camera open")
        log.warning("camera lost")
        log.error("model missing")
        log.critical("giving up")
        flush_root()
    assert path.read_text().splitlines() == [
        "<7>app.sources.test: probing",
        "<6>app.sources.test: camera open",
        "<4>app.sources.test: camera lost",
        "<3>app.sources.test: model missing",
        "<2>app.sources.test: giving up",
    ]


def test_every_traceback_line_keeps_the_priority(tmp_path):
    path = tmp_path / "stderr.txt"
    with path.open("w") as stream:
        configure_logging("info", stream=stream, environ=journal_env_for(stream))
        try:
            raise ValueError("bad frame")
        except ValueError:
            logging.getLogger("app.loop").exception("frame dropped")
        flush_root()
    lines = path.read_text().splitlines()
    assert lines[0] == "<3>app.loop: frame dropped"
    assert len(lines) > 3
    assert all(line.startswith("<3>") for line in lines)
    assert lines[-1] == "<3>ValueError: bad frame"


def test_terminal_lines_have_timestamps_and_level_names(tmp_path):
    path = tmp_path / "stderr.txt"
    with path.open("w") as stream:
        configure_logging("INFO", stream=stream, environ={})
        logging.getLogger("app.x").debug("hidden at info")
        logging.getLogger("app.x").warning("shown")
        flush_root()
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert TIMESTAMP.match(lines[0])
    assert lines[0].endswith("WARNING app.x: shown")
    assert not lines[0].startswith("<")


def test_journal_stream_of_another_file_is_not_the_journal(tmp_path):
    """stderr redirected to a file by a wrapper: JOURNAL_STREAM names a different inode."""
    other = tmp_path / "other.txt"
    path = tmp_path / "stderr.txt"
    with other.open("w") as journal, path.open("w") as stream:
        env = journal_env_for(journal)
        assert not stderr_is_journal(stream, env)
        assert stderr_is_journal(journal, env)
        configure_logging("info", stream=stream, environ=env)
        logging.getLogger("app.x").info("hello")
        flush_root()
    assert TIMESTAMP.match(path.read_text())


@pytest.mark.parametrize("value", ["", "12", "a:b", "1:2:3"])
def test_malformed_journal_stream_means_terminal(tmp_path, value):
    with (tmp_path / "s.txt").open("w") as stream:
        assert not stderr_is_journal(stream, {"JOURNAL_STREAM": value})


def test_defaults_read_sys_stderr_and_os_environ(tmp_path, monkeypatch):
    path = tmp_path / "stderr.txt"
    with path.open("w") as stream:
        monkeypatch.setattr("sys.stderr", stream)
        monkeypatch.setenv("JOURNAL_STREAM", journal_env_for(stream)["JOURNAL_STREAM"])
        configure_logging("warning")
        logging.getLogger("app.y").warning("from defaults")
        flush_root()
    assert path.read_text() == "<4>app.y: from defaults\n"


def test_calling_twice_does_not_duplicate_lines(tmp_path):
    path = tmp_path / "stderr.txt"
    with path.open("w") as stream:
        configure_logging("info", stream=stream, environ={})
        configure_logging("info", stream=stream, environ={})
        logging.getLogger("app.z").info("once")
        flush_root()
    assert len(path.read_text().splitlines()) == 1


def test_bad_level_is_a_config_error():
    with pytest.raises(ConfigError, match="'verbose' is not one of debug, info"):
        configure_logging("verbose")


def test_custom_levels_round_down_to_a_syslog_priority():
    assert syslog_priority(logging.WARNING + 5) == 4
    assert syslog_priority(5) == 7
    assert syslog_priority(logging.CRITICAL + 10) == 2
