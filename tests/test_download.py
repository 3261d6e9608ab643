"""The MNIST downloader against a local HTTP server (never the internet)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from training import download, mnist
from training.mnist import MNIST_FILES, DataError

SMALL = "t10k-labels-idx1-ubyte.gz"  # 4.5 kB: the file most tests fetch
needs_mnist = pytest.mark.skipif(
    not all((mnist.default_data_dir() / name).is_file() for name in MNIST_FILES),
    reason="MNIST files not found (set CONVLENS_MNIST_DIR)",
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve(tmp_path) -> Iterator:
    """Start an HTTP server on 127.0.0.1 for a folder; return its base URL. Stopped after."""
    servers: list[tuple[http.server.ThreadingHTTPServer, threading.Thread]] = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, name="test-http")
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@needs_mnist
def test_downloads_verifies_and_skips_correct_files(tmp_path, serve):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(mnist.default_data_dir() / SMALL, mirror / SMALL)
    url = serve(mirror)
    dest = tmp_path / "data"
    dest.mkdir()
    assert download.download_file(SMALL, dest, [url]) is True
    assert mnist.sha256_of(dest / SMALL) == MNIST_FILES[SMALL]
    assert download.download_file(SMALL, dest, [url]) is False  # already correct
    assert sorted(p.name for p in dest.iterdir()) == [SMALL]


@needs_mnist
def test_corrupted_download_is_rejected_and_not_left_behind(tmp_path, serve):
    bad = tmp_path / "bad"
    bad.mkdir()
    data = (mnist.default_data_dir() / SMALL).read_bytes()
    (bad / SMALL).write_bytes(data[:-10] + b"0123456789")
    dest = tmp_path / "data"
    dest.mkdir()
    with pytest.raises(DataError) as info:
        download.download_file(SMALL, dest, [serve(bad)])
    message = str(info.value)
    assert f"could not download {SMALL}" in message and MNIST_FILES[SMALL] in message
    assert "\n" not in message
    assert list(dest.iterdir()) == []


@needs_mnist
def test_falls_back_to_the_next_mirror(tmp_path, serve):
    empty, good = tmp_path / "empty", tmp_path / "good"
    empty.mkdir()
    good.mkdir()
    shutil.copy(mnist.default_data_dir() / SMALL, good / SMALL)
    dest = tmp_path / "data"
    dest.mkdir()
    (dest / SMALL).write_bytes(b"stale")  # a wrong file is replaced
    assert download.download_file(SMALL, dest, [serve(empty), serve(good)]) is True
    assert mnist.sha256_of(dest / SMALL) == MNIST_FILES[SMALL]


@needs_mnist
def test_cli_fetches_all_four_files(tmp_path, serve, capsys):
    url = serve(mnist.default_data_dir())
    dest = tmp_path / "fresh"
    assert download.main(["--data-dir", str(dest), "--mirror", url]) == 0
    assert "4 file(s) downloaded" in capsys.readouterr().out
    for name, digest in MNIST_FILES.items():
        assert mnist.sha256_of(dest / name) == digest
    assert not list(dest.glob("*.part"))


def test_cli_unreachable_mirror_is_one_line_exit_1(tmp_path, serve, capsys):
    url = serve(tmp_path)  # serves an empty folder: every file is a 404
    assert download.main(["--data-dir", str(tmp_path / "d"), "--mirror", url]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "404" in err and "--mirror" in err
