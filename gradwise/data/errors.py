"""Errors raised by ``gradwise.data``.

Each subclasses the builtin a Python user would expect, so ``except ValueError``
(or ``TypeError``, ``OSError``, ``FileNotFoundError``) keeps working, while the
gradwise name lets callers catch exactly the data layer's complaints.
"""

from __future__ import annotations

from gradwise.errors import GradwiseError


class DataError(GradwiseError, ValueError):
    """A bad argument to a dataset, loader, split or generator: the message names the
    function, the option, the bad value and what would be valid."""


class DataTypeError(GradwiseError, TypeError):
    """An argument or a sample of a type the data layer cannot handle (e.g. in collate)."""


class IDXFormatError(DataError):
    """A file that is not a well-formed IDX file: the message names the file and what was wrong."""


class ChecksumError(DataError):
    """A downloaded or cached file whose SHA-256 is not the expected one."""


class DownloadError(GradwiseError, OSError):
    """A download that failed or arrived truncated (nothing is left in the cache)."""


class DatasetNotFoundError(GradwiseError, FileNotFoundError):
    """Dataset files missing from the folder they were asked for in."""
