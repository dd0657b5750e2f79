"""Reader for the IDX format (MNIST's file format), plain or gzip-compressed.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then
``ndim`` big-endian uint32 dimension sizes, then the values in C order,
big-endian.  Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
0x0D float32, 0x0E float64.  The reader checks all of it and names the file
and what was wrong.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from gradwise.data.errors import DatasetNotFoundError, IDXFormatError

IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def parse_idx(buf: bytes, name: str = "<bytes>") -> np.ndarray:
    """The array stored in the (uncompressed) IDX bytes ``buf``; ``name`` is used in errors.

    >>> from gradwise.data.idx import parse_idx
    >>> parse_idx(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9])).tolist()
    [7, 8, 9]
    """
    if len(buf) < 4:
        raise IDXFormatError(f"{name}: {len(buf)} bytes is too short for an IDX header (4-byte magic number)")
    if buf[0] != 0 or buf[1] != 0:
        raise IDXFormatError(f"{name}: not an IDX file: the magic number 0x{buf[:4].hex()} must start with two "
                             "zero bytes")
    code, ndim = buf[2], buf[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise IDXFormatError(f"{name}: not an IDX file: unknown data type code 0x{code:02X} in the magic number "
                             f"(valid: {known})")
    if ndim == 0:
        raise IDXFormatError(f"{name}: IDX header declares 0 dimensions; expected at least 1")
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise IDXFormatError(f"{name}: truncated: the header declares {ndim} dimensions ({header} header bytes) "
                             f"but the file has only {len(buf)} bytes")
    dims = struct.unpack(f">{ndim}I", buf[4:header])
    dtype = IDX_DTYPES[code]
    count = math.prod(dims)
    expected, actual = count * dtype.itemsize, len(buf) - header
    if actual < expected:
        raise IDXFormatError(f"{name}: truncated: dims {dims} of {dtype.name} need {expected} data bytes, the file "
                             f"holds {actual}")
    if actual > expected:
        raise IDXFormatError(f"{name}: {actual - expected} unexpected bytes after the {expected} data bytes that "
                             f"dims {dims} of {dtype.name} need; not a well-formed IDX file")
    arr = np.frombuffer(buf, dtype=dtype, offset=header, count=count).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))  # native byte order, writable copy


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (``.gz`` compressed or not, detected from its first bytes).

    Raises :class:`IDXFormatError` naming the file when the gzip stream is damaged
    or the IDX content is malformed or truncated, and
    :class:`DatasetNotFoundError` when the file does not exist.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise DatasetNotFoundError(f"IDX file {p} does not exist") from None
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except EOFError as exc:
            raise IDXFormatError(f"{p}: truncated gzip stream ({exc}); delete the file and download it again") \
                from None
        except (OSError, zlib.error) as exc:
            raise IDXFormatError(f"{p}: damaged gzip stream ({exc}); delete the file and download it again") \
                from None
    return parse_idx(raw, str(p))
