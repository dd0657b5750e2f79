"""``python -m gradwise.run script.py [args...]``: the same as ``gradwise run script.py [args...]``.

It runs a PyTorch script with ``import torch`` resolved to gradwise (see
:mod:`gradwise.torch_compat`); ``--report DIR`` before the script writes the gradient
monitor's report.
"""

from __future__ import annotations

import sys

from gradwise.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
