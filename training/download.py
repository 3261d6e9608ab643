"""Fetch the four MNIST IDX files from public mirrors, verify their SHA-256, write atomically.

Usage::

    python -m training.download --data-dir data/mnist [--mirror URL ...]

Files that are already present with the right checksum are skipped. Each file is tried
on every mirror in turn; a download with the wrong checksum is deleted, never kept.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import urllib.error
import urllib.request
from pathlib import Path

from training.mnist import MNIST_FILES, DataError, default_data_dir, sha256_of

log = logging.getLogger(__name__)

#: Public HTTPS mirrors of the original files, tried in this order.
DEFAULT_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_TIMEOUT_S = 60


def _fetch_to(url: str, dest: Path, expected: str) -> None:
    """Stream ``url`` into ``dest`` (a temporary name), hashing on the way.

    Raises:
        DataError: the checksum is wrong (``dest`` is removed).
        OSError, urllib.error.URLError: the transfer failed.
    """
    digest = hashlib.sha256()
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response, open(dest, "wb") as f:
        for chunk in iter(lambda: response.read(1 << 16), b""):
            digest.update(chunk)
            f.write(chunk)
    actual = digest.hexdigest()
    if actual != expected:
        dest.unlink(missing_ok=True)
        raise DataError(f"{url} has SHA-256 {actual}, expected {expected}")


def download_file(name: str, data_dir: Path, mirrors: list[str]) -> bool:
    """Make ``data_dir/name`` the verified MNIST file; return False if it already was.

    Raises:
        DataError: every mirror failed; the message lists why, and no file is left.
    """
    expected = MNIST_FILES[name]
    target = data_dir / name
    if target.is_file() and sha256_of(target) == expected:
        log.info("%s: already present and verified", target)
        return False
    tmp = target.with_name(name + ".part")
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        log.info("%s: downloading from %s", name, url)
        try:
            _fetch_to(url, tmp, expected)
        except (OSError, urllib.error.URLError, DataError) as exc:
            tmp.unlink(missing_ok=True)
            failures.append(f"{url}: {exc}")
            log.warning("%s", failures[-1])
            continue
        tmp.replace(target)
        return True
    # A stale, wrong file would only fail later with a less helpful message.
    target.unlink(missing_ok=True)
    raise DataError(
        f"could not download {name} ({'; '.join(failures)}); check the network or pass "
        "--mirror URL, or copy the file into the data directory by hand"
    )


def download(data_dir: Path, mirrors: list[str]) -> int:
    """Fetch every missing or wrong MNIST file into ``data_dir``; return how many were fetched."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return sum(download_file(name, data_dir, mirrors) for name in MNIST_FILES)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; exit status 1 when a file cannot be fetched."""
    p = argparse.ArgumentParser(
        prog="python -m training.download", description=__doc__.split("\n")[0]
    )
    p.add_argument("--data-dir", type=Path, default=None, help="where to put the .gz files")
    p.add_argument(
        "--mirror",
        action="append",
        default=None,
        help="base URL to try (repeat for several); default: public mirrors",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data_dir = args.data_dir if args.data_dir is not None else default_data_dir()
    try:
        fetched = download(data_dir, args.mirror or list(DEFAULT_MIRRORS))
    except (DataError, OSError) as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 1
    print(f"{data_dir}: {fetched} file(s) downloaded, all {len(MNIST_FILES)} verified")
    return 0


if __name__ == "__main__":
    sys.exit(main())
