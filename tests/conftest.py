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
