"""Checksummed, atomic downloads into a cache folder (standard library only).

A file is streamed into a temporary file in the target's own folder while its
SHA-256 is computed; only when the byte count matches ``Content-Length`` and
the digest matches the expected one is it fsynced and renamed into place.  Any
failure removes the temporary file, so the cache never holds a partial or
unverified file under the real name.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from gradwise.atomic_files import atomic_file
from gradwise.data.errors import ChecksumError, DownloadError

TIMEOUT_S = 60.0
_CHUNK = 1 << 16


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(url: str, target: str | os.PathLike[str], sha256: str | None, timeout: float = TIMEOUT_S) -> Path:
    """Download ``url`` to ``target`` atomically, verifying its size and SHA-256.

    Raises :class:`DownloadError` (network failure, HTTP error, truncated body) or
    :class:`ChecksumError` (digest differs from ``sha256``); either way nothing is
    left at ``target`` or beside it.
    """
    target = Path(target)
    with atomic_file(target, suffix=".part") as f:
        digest = hashlib.sha256()
        received = 0
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                length = resp.headers.get("Content-Length")
                while chunk := resp.read(_CHUNK):
                    f.write(chunk)
                    digest.update(chunk)
                    received += len(chunk)
        except http.client.IncompleteRead as exc:
            raise DownloadError(f"download of {url} is truncated: received {received + len(exc.partial)} bytes, "
                                f"{exc.expected} more were announced") from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise DownloadError(f"download of {url} failed: {exc}") from exc
        if length is not None and received != int(length):
            raise DownloadError(f"download of {url} is truncated: received {received} of {int(length)} bytes")
        got = digest.hexdigest()
        if sha256 is not None and got != sha256.lower():
            raise ChecksumError(f"{url}: SHA-256 of the downloaded file is {got}, expected {sha256.lower()}; the "
                                "file was not saved (corrupted transfer or a mirror serving different files)")
    return target
