"""Atomic file writes: a crash mid-write leaves the old file (or no file), never half a file.

The data goes to a temporary file in the target's folder, is flushed and fsynced,
gets the permissions a plain ``open(path, "w")`` would give (mkstemp's are 0600),
and is renamed over the target; the folder is then fsynced so the rename itself
survives a power cut.  On any error the temporary file is removed.  A process killed
mid-write (``kill -9``) cannot remove its temporary file, so each one carries its
writer's process id, and the next write to the same target removes those whose
writer is gone: a checkpoint-sized leftover does not stay on disk for ever.

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> with atomic_file(path) as f:
...     _ = f.write(b"hello")
>>> open(path).read()
'hello'
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable (not possible on every platform: then a no-op)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)          # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True              # it exists (another user's), or we cannot tell: leave its file alone
    return True


def _remove_orphans(target: Path, suffix: str) -> None:
    """Delete ``.<name>.<pid>.*<suffix>`` files next to ``target`` left by writers that no longer run."""
    for leftover in target.parent.glob(f".{target.name}.*{suffix}"):
        pid = leftover.name[len(target.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            try:
                leftover.unlink()
            except OSError:
                pass


@contextmanager
def atomic_file(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[BinaryIO]:
    """Open a temporary binary file that replaces ``path`` when the ``with`` block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(target, suffix)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=suffix, dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_file(path) as f:
        f.write(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))
