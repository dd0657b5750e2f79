"""``python -m gradwise``: the same as the ``gradwise`` command."""

import sys

from gradwise.cli import main

sys.exit(main())
