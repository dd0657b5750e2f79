"""Suite-wide hooks: a failing op-table test names the seed of its samples."""

from __future__ import annotations

import zlib

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    callspec = getattr(item, "callspec", None)
    op = callspec.params.get("op") if callspec is not None else None
    if report.failed and op is not None and hasattr(op, "name"):
        # every op-table test draws its samples with np.random.default_rng(crc32(op name))
        seed = zlib.crc32(op.name.encode())
        report.sections.append(("op seed", f"samples of op {op.name!r} come from np.random.default_rng({seed})"))
