"""Run an unchanged PyTorch script on gradwise: ``gradwise run script.py [args...]``.

:func:`run_script` runs the file as ``__main__`` (``sys.argv = [script, *args]``, the script's
folder first on ``sys.path``, as ``python script.py`` does) inside :func:`torch_shim`, with
``torch.save``/``torch.load`` mapped to gradwise's safe format.  It returns the exit status
Python would give: the script's own ``sys.exit``, 1 for an uncaught error, 130 for Ctrl-C.

* A torch name gradwise lacks ends the run with ONE line on stderr: where the script used
  it, the torch API, and the section of ``docs/pytorch_compatibility.md`` about it.
* Any other error prints its traceback from the script's first frame on (the runner's own
  frames are left out), as ``python script.py`` would; when a gradwise ``Tensor`` or ``Module``
  lacks the method called, a note under it points to the page.
* ``report_dir``: the gradient monitor watches the networks the script's optimizers train
  and ``report_dir/report.html`` is written at the end, also after an error or Ctrl-C.

Everything is put back afterwards: ``sys.modules``, ``sys.argv``, ``sys.path``, and the
classes the report wraps.
"""

from __future__ import annotations

import os
import runpy
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from gradwise.errors import GradwiseError
from gradwise.torch_compat.catalog import TORCH_API_VERSION, doc_link
from gradwise.torch_compat.checkpoint import torch_load, torch_save
from gradwise.torch_compat.shim import UnsupportedTorchError, torch_shim

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130
_PACKAGE_DIR = str(Path(__file__).resolve().parent.parent)


class ScriptError(GradwiseError, FileNotFoundError):
    """The script to run does not exist or is not a file."""


def _user_frame(tb: TracebackType | None) -> tuple[str, int] | None:
    """The innermost frame outside gradwise and the import system: where the script was."""
    found = None
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if not (name.startswith(_PACKAGE_DIR) or name.startswith("<frozen ") or "importlib" in name):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _from_script(tb: TracebackType | None, script: str) -> TracebackType | None:
    """The traceback from the script's first frame on (runpy's and the runner's are dropped)."""
    start = tb
    while start is not None and start.tb_frame.f_code.co_filename != script:
        start = start.tb_next
    return start if start is not None else tb


def _exit_status(code: Any) -> int:
    """What ``sys.exit(code)`` makes the process return, printing a message code as Python does."""
    if code is None:
        return 0
    if isinstance(code, int):       # sys.exit(True) is status 1, as in Python
        return int(code)
    print(code, file=sys.stderr)
    return EXIT_ERROR


def _note_missing_method(exc: BaseException) -> None:
    """Under the traceback of ``x.isnan()`` on a gradwise Tensor (or a missing Module method),
    a note: if it is a torch method, gradwise lacks it, and where the page lists them.  A typo in
    the script reads the same way in torch, so the traceback stays as it is."""
    from gradwise.autograd.tensor import Tensor
    from gradwise.nn.module import Module

    obj, name = getattr(exc, "obj", None), getattr(exc, "name", None)
    if not isinstance(exc, AttributeError) or not isinstance(name, str) or name.startswith("_"):
        return
    kind = "torch.Tensor" if isinstance(obj, Tensor) else "torch.nn.Module" if isinstance(obj, Module) else None
    if kind is not None:
        anchor = "tensor-methods" if kind == "torch.Tensor" else "nn-modules"
        exc.add_note(f"gradwise run: if {kind}.{name} is a torch method, gradwise does not support it (yet); "
                     f"see {doc_link(kind + '.' + name, anchor)}")


def _unsupported_line(exc: UnsupportedTorchError, script: str) -> str:
    where = _user_frame(exc.__traceback__)
    if where is None:
        return f"gradwise run: {exc}"
    name, line = where
    shown = os.path.relpath(name) if not os.path.relpath(name).startswith("..") else name
    return f"gradwise run: {shown}, line {line}: {exc}"


def torch_version() -> str:
    """``torch.__version__`` under the shim: ``2.0.0+gradwise.<gradwise version>``.

    >>> torch_version().startswith("2.0.0+gradwise.")
    True
    """
    from gradwise.version import __version__

    return f"{TORCH_API_VERSION}+gradwise.{__version__}"


def run_script(script: str | os.PathLike[str], args: list[str] | tuple[str, ...] = (),
               report_dir: str | os.PathLike[str] | None = None) -> int:
    """Run ``script`` with ``import torch`` resolved to gradwise; returns its exit status.

    ``args`` become ``sys.argv[1:]``; ``report_dir`` (optional) receives ``report.html``.
    Raises :class:`ScriptError` when ``script`` is not a file.

    >>> import os, tempfile
    >>> script = os.path.join(tempfile.mkdtemp(), "relu.py")
    >>> with open(script, "w") as f:
    ...     _ = f.write("import sys, torch; import torch.nn.functional as F; "
    ...                 "print(F.relu(torch.tensor([-1.0, 2.0])).tolist(), sys.argv[1:])")
    >>> run_script(script, ["--epochs", "3"])
    [0.0, 2.0] ['--epochs', '3']
    0
    """
    path = os.fspath(script)
    if not os.path.isfile(path):
        raise ScriptError(f"run: cannot open script {path!r}: no such file")
    recorder = None
    if report_dir is not None:
        from gradwise.torch_compat.report import ScriptRecorder

        recorder = ScriptRecorder(path, list(args))
    saved_argv, saved_path = sys.argv[:], sys.path[:]
    sys.argv = [path, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    status, outcome = 0, "finished"
    overrides = {"torch": {"save": torch_save, "load": torch_load, "__version__": torch_version()}}
    try:
        with torch_shim(overrides):
            if recorder is not None:
                recorder.install()
            try:
                runpy.run_path(path, run_name="__main__")
            except SystemExit as exc:
                status = _exit_status(exc.code)
                outcome = f"exited with status {status}"
            except UnsupportedTorchError as exc:
                print(_unsupported_line(exc, path), file=sys.stderr)
                status, outcome = EXIT_ERROR, f"stopped: {exc}"
            except KeyboardInterrupt as exc:
                traceback.print_exception(type(exc), exc, _from_script(exc.__traceback__, path))
                status, outcome = EXIT_INTERRUPTED, "interrupted (Ctrl-C)"
            except BaseException as exc:  # noqa: BLE001  (the script's own error: shown as Python would)
                _note_missing_method(exc)
                traceback.print_exception(type(exc), exc, _from_script(exc.__traceback__, path))
                status, outcome = EXIT_ERROR, f"failed: {type(exc).__name__}: {exc}"
            finally:
                if recorder is not None:
                    recorder.uninstall()
    finally:
        sys.argv, sys.path[:] = saved_argv, saved_path
    if recorder is not None and report_dir is not None:
        sys.stdout.flush()
        try:
            pages = recorder.write(report_dir, outcome)
        except Exception as exc:     # the script's own status matters more; say what went wrong
            print(f"gradwise run: --report: could not write the report into {report_dir}: {exc}", file=sys.stderr)
            return status or EXIT_ERROR
        for note in recorder.notes:
            print(f"gradwise run: --report: {note}", file=sys.stderr)
        print(f"gradwise run: report written to {pages[0]}" + (f" (+{len(pages) - 1} more)" if len(pages) > 1
                                                                 else ""), file=sys.stderr)
    return status
