"""IDX reader and MNIST / Fashion-MNIST loading, served from a local HTTP server (no internet)."""

from __future__ import annotations

import gzip
import hashlib
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

import gradwise as gw
from gradwise.data import (
    ChecksumError,
    DataError,
    DatasetNotFoundError,
    DownloadError,
    IDXFormatError,
    fashion_mnist,
    mnist,
    read_idx,
)

FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
CODES = {">u1": 0x08, ">i1": 0x09, ">i2": 0x0B, ">i4": 0x0C, ">f4": 0x0D, ">f8": 0x0E}


def idx_bytes(arr: np.ndarray, dtype: str = ">u1") -> bytes:
    """The IDX encoding written out by hand: magic, big-endian dims, big-endian values."""
    return (bytes([0, 0, CODES[dtype], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
            + np.ascontiguousarray(arr, dtype=dtype).tobytes())


def make_split(n, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    return images, labels


TRAIN = make_split(10, 0)
TEST = make_split(4, 1)
BLOBS = {
    FILES[0]: gzip.compress(idx_bytes(TRAIN[0])), FILES[1]: gzip.compress(idx_bytes(TRAIN[1])),
    FILES[2]: gzip.compress(idx_bytes(TEST[0])), FILES[3]: gzip.compress(idx_bytes(TEST[1])),
}
SHA = {name: hashlib.sha256(blob).hexdigest() for name, blob in BLOBS.items()}


def write_files(folder: Path, blobs=BLOBS):
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        (folder / name).write_bytes(blob)


def check_split(images, labels, expected):
    raw_images, raw_labels = expected
    assert images.shape == (len(raw_images), 1, 28, 28) and images.dtype == np.float32
    assert labels.shape == (len(raw_labels),) and labels.dtype == np.int64
    np.testing.assert_allclose(images.numpy()[:, 0], raw_images / 255.0, rtol=1e-6)
    assert images.numpy().min() == 0.0 and images.numpy().max() == 1.0
    np.testing.assert_array_equal(labels.numpy(), raw_labels)


# ------------------------------------------------------------------ IDX reader
@pytest.mark.parametrize("dtype", sorted(CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trip(tmp_path, dtype, compress):
    values = np.arange(24).reshape(2, 3, 4) - (0 if dtype == ">u1" else 5)
    arr = values.astype(np.dtype(dtype).newbyteorder("="))
    blob = idx_bytes(arr, dtype)
    path = tmp_path / "a.idx"
    path.write_bytes(gzip.compress(blob) if compress else blob)
    out = read_idx(path)
    np.testing.assert_array_equal(out, arr)
    assert out.dtype.isnative and out.shape == (2, 3, 4) and out.flags.writeable


@pytest.mark.parametrize(("blob", "message"), [
    (idx_bytes(np.zeros((3, 4), np.uint8))[:-1], r"truncated: dims \(3, 4\) of uint8 need 12 data bytes, the file "
                                                 r"holds 11"),
    (idx_bytes(np.zeros((3, 4), np.uint8)) + b"\x00", "1 unexpected bytes after the 12 data bytes"),
    (b"\x89PNG\r\n\x1a\n" + bytes(20), "not an IDX file: the magic number 0x89504e47"),
    (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 0]), "unknown data type code 0x07"),
    (bytes([0, 0, 0x08, 0]), "declares 0 dimensions"),
    (bytes([0, 0, 0x08, 3, 0, 0, 0, 1]), "truncated: the header declares 3 dimensions"),
    (b"\x00\x00", "too short"),
])
def test_read_idx_rejects_malformed(tmp_path, blob, message):
    path = tmp_path / "bad-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(blob))
    with pytest.raises(IDXFormatError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_truncated_and_damaged_gzip(tmp_path):
    good = gzip.compress(idx_bytes(np.zeros((50, 28, 28), np.uint8)))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(good[: len(good) // 2])
    with pytest.raises(IDXFormatError, match="cut.gz: truncated gzip stream"):
        read_idx(cut)
    damaged = tmp_path / "damaged.gz"
    damaged.write_bytes(good[:12] + bytes(b ^ 0xFF for b in good[12:40]) + good[40:])
    with pytest.raises(IDXFormatError, match="damaged.gz: damaged gzip stream"):
        read_idx(damaged)
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        read_idx(tmp_path / "missing.gz")


# ------------------------------------------------------------- local files only
def test_mnist_reads_local_files(tmp_path):
    write_files(tmp_path / "mnist")
    check_split(*mnist(tmp_path), TRAIN)
    check_split(*mnist(str(tmp_path), train=False), TEST)
    images, _ = mnist(tmp_path, dtype=gw.float64)
    assert images.dtype == np.float64


def test_fashion_mnist_reads_its_own_folder(tmp_path):
    write_files(tmp_path / "fashion-mnist")
    check_split(*fashion_mnist(tmp_path, train=False), TEST)
    with pytest.raises(DatasetNotFoundError):
        mnist(tmp_path)


def test_missing_files_say_how_to_get_them(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"pass download=True") as info:
        mnist(tmp_path)
    msg = str(info.value)
    assert str(tmp_path / "mnist") in msg and "train-images-idx3-ubyte.gz" in msg
    assert isinstance(info.value, FileNotFoundError)
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / FILES[2]).write_bytes(BLOBS[FILES[2]])
    with pytest.raises(DatasetNotFoundError, match="t10k-labels-idx1-ubyte.gz not found in"):
        mnist(tmp_path, train=False)


def test_wrong_or_inconsistent_files(tmp_path):
    folder = tmp_path / "mnist"
    write_files(folder, {FILES[0]: BLOBS[FILES[1]], FILES[1]: BLOBS[FILES[1]]})
    with pytest.raises(IDXFormatError, match=r"train-images-idx3-ubyte.gz: expected images .* 1-D uint8"):
        mnist(tmp_path)
    write_files(folder, {FILES[0]: BLOBS[FILES[2]], FILES[1]: BLOBS[FILES[1]]})
    with pytest.raises(IDXFormatError, match="holds 4 images but .* holds 10 labels"):
        mnist(tmp_path)
    write_files(folder, {FILES[0]: BLOBS[FILES[0]], FILES[1]: gzip.compress(idx_bytes(np.full(10, 12, np.uint8)))})
    with pytest.raises(IDXFormatError, match="label 12 is outside the 10 classes"):
        mnist(tmp_path)


# ----------------------------------------------------------------- downloading
class Mirror:
    """A tiny HTTP server on 127.0.0.1 serving ``files``; records requested paths."""

    def __init__(self, files):
        self.files = dict(files)
        self.requests: list[str] = []
        self.truncate: set[str] = set()
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5

            def do_GET(self):
                mirror.requests.append(self.path)
                name = self.path.rsplit("/", 1)[-1]
                body = mirror.files.get(name)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if name in mirror.truncate:
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                else:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/data/"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server(monkeypatch):
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    mirror = Mirror(BLOBS)
    yield mirror
    mirror.close()


def leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_download_then_cache(tmp_path, server):
    check_split(*mnist(tmp_path, download=True, mirror=server.url, checksums=SHA), TRAIN)
    assert sorted(server.requests) == sorted(f"/data/{n}" for n in FILES)
    assert leftovers(tmp_path) == sorted(f"mnist/{n}" for n in FILES)  # all four, no temp files
    for name in FILES:
        assert (tmp_path / "mnist" / name).read_bytes() == BLOBS[name]
    check_split(*mnist(tmp_path, train=False, download=True, mirror=server.url, checksums=SHA), TEST)
    assert len(server.requests) == 4  # verified cached files are not fetched again
    check_split(*mnist(tmp_path, train=False), TEST)
    assert len(server.requests) == 4


def test_mirror_from_environment(tmp_path, server, monkeypatch):
    monkeypatch.setenv("GRADWISE_FASHION_MNIST_MIRROR", server.url.rstrip("/"))
    check_split(*fashion_mnist(tmp_path, download=True, checksums=SHA), TRAIN)
    assert len(server.requests) == 4 and (tmp_path / "fashion-mnist" / FILES[0]).is_file()


def test_known_checksums_reject_other_files(tmp_path, server):
    # Without an override the real MNIST SHA-256 table applies: the test files do not match it.
    with pytest.raises(ChecksumError, match=r"train-images-idx3-ubyte.gz: SHA-256 .* expected 440fcabf"):
        mnist(tmp_path, download=True, mirror=server.url)
    assert leftovers(tmp_path) == []


def test_bad_checksum_leaves_no_file(tmp_path, server):
    bad = dict(SHA, **{FILES[1]: "0" * 64})
    with pytest.raises(ChecksumError, match=f"{FILES[1]}: SHA-256 of the downloaded file is {SHA[FILES[1]]}"):
        mnist(tmp_path, download=True, mirror=server.url, checksums=bad)
    assert leftovers(tmp_path) == [f"mnist/{FILES[0]}"]  # the good file before it stays; nothing partial


def test_truncated_download_leaves_no_file(tmp_path, server):
    server.truncate.add(FILES[0])
    with pytest.raises(DownloadError, match=f"{FILES[0]} is truncated: received"):
        mnist(tmp_path, download=True, mirror=server.url, checksums=SHA)
    assert leftovers(tmp_path) == []


def test_corrupt_cached_file_is_fetched_again(tmp_path, server):
    write_files(tmp_path / "mnist")
    (tmp_path / "mnist" / FILES[2]).write_bytes(BLOBS[FILES[2]][:-5])
    check_split(*mnist(tmp_path, train=False, download=True, mirror=server.url, checksums=SHA), TEST)
    assert server.requests == [f"/data/{FILES[2]}"]


def test_http_error_and_unreachable_mirror(tmp_path, server):
    del server.files[FILES[3]]
    with pytest.raises(DownloadError, match=f"download of {server.url}{FILES[3]} failed: HTTP Error 404"):
        mnist(tmp_path, download=True, mirror=server.url, checksums=SHA)
    assert f"mnist/{FILES[3]}" not in leftovers(tmp_path)
    assert not [p for p in leftovers(tmp_path) if p.endswith(".part")]


def test_checksum_override_validation(tmp_path):
    with pytest.raises(DataError, match="checksums has an entry for 'foo.gz'"):
        mnist(tmp_path, checksums={"foo.gz": "0" * 64})
    with pytest.raises(DataError, match="64-character hex SHA-256"):
        mnist(tmp_path, checksums={FILES[0]: "abc"})
