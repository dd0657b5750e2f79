"""``import gradwise`` leaves the C library's allocator alone; ``set_allocator_tuning`` is opt-in.

Each check runs in a fresh interpreter, since the setting is process-wide and cannot be
read back from glibc.  Two independent witnesses:

* an audit hook sees every ``ctypes`` symbol lookup, so a ``mallopt`` lookup during
  ``import gradwise`` (or a training step) would be caught whatever its arguments;
* ``mallinfo2().hblks`` counts blocks served by ``mmap``: glibc's default threshold
  (128 KiB, raised only when an mmapped block is freed) maps a fresh 24 MiB block, while
  the tuned threshold (32 MiB) serves it from the heap.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")

_PRELUDE = """
import ctypes, json, sys
lookups = []
sys.addaudithook(lambda event, args: lookups.append(str(args[1])) if event == "ctypes.dlsym" else None)

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                               "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
have_mallinfo2 = hasattr(libc, "mallinfo2")
if have_mallinfo2:
    libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]

def mapped_blocks_for(nbytes):
    # how many new mmapped blocks one allocation of nbytes makes (None without mallinfo2)
    if not have_mallinfo2:
        return None
    before = libc.mallinfo2().hblks
    p = libc.malloc(nbytes)
    after = libc.mallinfo2().hblks
    libc.free(p)
    return after - before
"""


def _run(body: str, env_extra: dict[str, str] | None = None) -> dict:
    import os

    env = dict(os.environ)
    env.pop("GRADWISE_MALLOC_TUNING", None)
    env.update(env_extra or {})
    code = _PRELUDE + textwrap.dedent(body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_and_training_leave_malloc_untouched():
    r = _run("""
        import gradwise as gw
        from gradwise import nn
        model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
        opt = gw.optim.SGD(model.parameters(), lr=0.1)
        loss = model(gw.randn(16, 4)).pow(2).mean()
        loss.backward(); opt.step()
        print(json.dumps({"mallopt": "mallopt" in lookups, "mapped": mapped_blocks_for(24 << 20),
                          "enabled": gw.allocator.allocator_tuning_enabled()}))
    """)
    assert r["mallopt"] is False and r["enabled"] is False
    if r["mapped"] is not None:
        assert r["mapped"] == 1, "a fresh 24 MiB block should be mmapped under glibc's defaults"


def test_opt_in_changes_the_threshold_and_opt_out_restores_it():
    r = _run("""
        import gradwise as gw
        on = gw.set_allocator_tuning(True)
        mapped_on = mapped_blocks_for(24 << 20)
        off = gw.set_allocator_tuning(False)
        libc.malloc_trim(0)   # give back the free heap top that served the tuned block
        print(json.dumps({"on": on, "off": off, "mallopt": "mallopt" in lookups,
                          "mapped_on": mapped_on, "mapped_off": mapped_blocks_for(24 << 20)}))
    """)
    assert r["mallopt"] is True and r["off"] is False
    if r["on"] and r["mapped_on"] is not None:      # glibc: the block now comes from the heap
        assert r["mapped_on"] == 0
        assert r["mapped_off"] == 1                  # glibc's 128 KiB threshold is back


def test_environment_veto():
    r = _run("""
        import gradwise as gw
        print(json.dumps({"on": gw.set_allocator_tuning(True), "mallopt": "mallopt" in lookups}))
    """, {"GRADWISE_MALLOC_TUNING": "0"})
    assert r == {"on": False, "mallopt": False}
