"""Suite-wide hooks: a failing op-table test names the seed of its samples; in CI a skip
because an optional dependency is missing is a failure."""

from __future__ import annotations

import os
import re
import zlib

import pytest

# The skips that mean "an optional dependency (module or command) is missing": the reason that
# pytest.importorskip writes ("could not import 'x': No module named 'x'") and the suite's own
# wording for modules and programs ("mpi4py is not installed", "no mpiexec found", "no Chromium
# or Chrome binary found", "Graphviz's dot program is not installed"). Other skips (the
# platform, the Python version, "torch sees a GPU here") stay skips everywhere.
DEPENDENCY_SKIP = re.compile(r"could not import|no module named|\bnot installed\b|^no \S.* found\b", re.IGNORECASE)


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


def _skip_reason(report) -> str | None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return None
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr)
    return reason.removeprefix("Skipped: ")


def _fail_missing_dependency(report) -> None:
    """In CI (``CI=true``), turn a skip for a missing module or command into a failure."""
    if not _in_ci():
        return
    reason = _skip_reason(report)
    if reason is not None and DEPENDENCY_SKIP.search(reason):
        report.outcome = "failed"
        report.longrepr = (f"CI=true: an optional dependency is missing, and in CI that is a failure, "
                           f"not a skip: {reason}")


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_missing_dependency(outcome.get_result())  # a module-level pytest.importorskip(...)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    _fail_missing_dependency(report)
    callspec = getattr(item, "callspec", None)
    op = callspec.params.get("op") if callspec is not None else None
    if report.failed and op is not None and hasattr(op, "name"):
        # every op-table test draws its samples with np.random.default_rng(crc32(op name))
        seed = zlib.crc32(op.name.encode())
        report.sections.append(("op seed", f"samples of op {op.name!r} come from np.random.default_rng({seed})"))
