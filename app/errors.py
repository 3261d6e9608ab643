"""Exceptions that carry one-line, user-facing messages."""


class ConvlensError(Exception):
    """Base class: the message is one line saying what was wrong and what was expected."""


class ConfigError(ConvlensError):
    """A bad config key or value; the process exits with status 78 (EX_CONFIG)."""


class SourceError(ConvlensError):
    """A frame source failed to open or to deliver a frame."""


class DisplayError(ConvlensError):
    """A display failed to open or to show a picture."""


class ModelError(ConvlensError):
    """A model file is missing, truncated or not the expected network."""


def one_line(exc: BaseException) -> str:
    """An exception as one line: ours as their message (it already says what happened),
    any other as ``"PermissionError: [Errno 13] Permission denied: ..."``."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(exc, ConvlensError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
