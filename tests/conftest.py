"""Fixtures for every test: each test leaves the root logger as it found it."""

import logging

import pytest


@pytest.fixture(autouse=True)
def _restore_root_logger():
    """CLI tests call configure_logging(); keep their handlers out of later tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _private_state_directory(tmp_path_factory, monkeypatch):
    """The state directory (collections, fine-tuned models: ``convlens run`` uses a current
    fine-tuned model) of whoever runs the tests never reaches a test, nor a test's run."""
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path_factory.getbasetemp() / "state"))
