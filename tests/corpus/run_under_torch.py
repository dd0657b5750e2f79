"""Run corpus programs under real PyTorch, each in its own process, paying for ``import torch``
once: ``python run_under_torch.py OUT_JSON PROGRAM...``.

Importing torch (with ``torch._dynamo``, which the first ``optimizer.step()`` loads) takes
2-4 s, several times what a corpus program computes, so ``python program.py`` for each of 33
programs would spend most of the corpus' CI budget on imports.  This runner imports torch and
the submodules the programs use, then forks one child per program: the child starts from a
process that has imported torch and done nothing else (no tensors, no random numbers drawn,
no thread pool started, no default dtype changed), which is what ``python program.py`` gives
the program, and runs it as ``__main__`` with its stdout and stderr captured to files.  The
parent writes, per program, the exit status, the captured text and the child's CPU seconds
as JSON to OUT_JSON.

POSIX only (``os.fork``), like the CI machines; the corpus test runs ``python program.py``
where ``os.fork`` does not exist.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import tempfile
import traceback


def run_one(program: str, workdir: str) -> dict[str, object]:
    """Fork, run ``program`` as ``__main__`` in the child, return its exit status and output."""
    out_path = os.path.join(workdir, "stdout.txt")
    err_path = os.path.join(workdir, "stderr.txt")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        status = 0
        with open(out_path, "w") as out, open(err_path, "w") as err:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            sys.argv = [program]
            try:
                runpy.run_path(program, run_name="__main__")
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                traceback.print_exc()
                status = 1
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)
    _, wait_status, usage = os.wait4(pid, 0)
    with open(out_path) as out, open(err_path) as err:
        return {"returncode": os.waitstatus_to_exitcode(wait_status), "stdout": out.read(), "stderr": err.read(),
                "cpu_s": usage.ru_utime + usage.ru_stime}


def main(argv: list[str]) -> int:
    out_json, programs = argv[0], argv[1:]
    # imported once, inherited by every child: torch itself and the submodules the programs
    # use; torch._dynamo is what the first optimizer.step() imports (~1.5 s, more than most
    # programs compute)
    import torch  # noqa: F401
    import torch._dynamo  # noqa: F401
    import torch.distributions  # noqa: F401
    import torch.func  # noqa: F401
    import torch.nn  # noqa: F401
    import torch.optim  # noqa: F401
    import torch.utils.data  # noqa: F401

    results = {}
    with tempfile.TemporaryDirectory() as workdir:
        for program in programs:
            results[program] = run_one(program, workdir)
    with open(out_json, "w") as f:
        json.dump(results, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
