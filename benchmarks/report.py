"""Shared by the benchmark scripts: resident memory readings and printing a report."""

from __future__ import annotations

import json
import os
from typing import Any


def resident_mb() -> float:
    """Resident set size of this process in MB (from /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def print_report(report: dict[str, Any], as_json: bool) -> None:
    """One JSON object, or one aligned ``key: value`` line per figure."""
    if as_json:
        print(json.dumps(report))
        return
    width = max(len(key) for key in report)
    for key, value in report.items():
        print(f"{key:>{width}}: {value}")
