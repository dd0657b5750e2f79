"""A writer killed mid-write leaves a temporary file; the next write to that target removes it."""

from __future__ import annotations

import os
import subprocess
import sys

from gradwise.atomic_files import write_bytes_atomic


def test_leftovers_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)
    orphan = tmp_path / f".final.ckpt.{dead}.k2j4.tmp"
    orphan.write_bytes(b"\0" * 4096)                       # what kill -9 during a save leaves
    live = tmp_path / f".final.ckpt.{os.getppid()}.x8q1.tmp"  # a writer that still runs (our parent)
    live.write_bytes(b"busy")
    other = tmp_path / f".other.ckpt.{dead}.a1.tmp"           # another target's file is not ours to judge
    other.write_bytes(b"z")
    write_bytes_atomic(tmp_path / "final.ckpt", b"data")
    assert (tmp_path / "final.ckpt").read_bytes() == b"data"
    assert not orphan.exists() and live.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "final.ckpt"])


def test_a_killed_save_leaves_the_old_file_and_the_next_save_cleans_up(tmp_path):
    target = tmp_path / "state.ckpt"
    write_bytes_atomic(target, b"old")
    code = ("import os, sys\n"
            "from gradwise.atomic_files import atomic_file\n"
            f"with atomic_file({str(target)!r}) as f:\n"
            "    f.write(b'half')\n"
            "    f.flush()\n"
            "    os.kill(os.getpid(), 9)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert proc.returncode == -9
    assert target.read_bytes() == b"old"
    assert len(list(tmp_path.glob(".state.ckpt.*.tmp"))) == 1
    write_bytes_atomic(target, b"new")
    assert target.read_bytes() == b"new" and not list(tmp_path.glob(".state.ckpt.*.tmp"))
