"""Helpers for the ``gradwise run`` tests: write a torch-style script and run it in a fresh
interpreter, the way a learner would."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MPLBACKEND"] = "Agg"
    return env


class Runner:
    """``write(name, source)`` puts a script into ``folder``; ``module(...)`` runs
    ``python -m gradwise.run``, ``cli(...)`` runs ``python -m gradwise run``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def write(self, name: str, source: str) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
        return path

    def _run(self, prefix: list[str], args: list[str], cwd: Path | None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, *prefix, *args], cwd=cwd or self.folder, env=_env(),
                              capture_output=True, text=True, timeout=300)

    def module(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return self._run(["-m", "gradwise.run"], list(args), cwd)

    def cli(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return self._run(["-m", "gradwise", "run"], list(args), cwd)


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path)
