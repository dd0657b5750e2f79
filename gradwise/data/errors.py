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
    """Dataset files missing from the folder they were asked for in.

    The message says how to fetch them in the caller's terms: ``download=True`` for the Python
    API; :meth:`with_fetch_hint` restates it for another caller (the ``gradwise`` command names
    its ``--download`` option).  ``template`` is the message with ``{fetch}`` where that goes.

    >>> err = DatasetNotFoundError.from_template("mnist: files not found; pass {fetch} to fetch them")
    >>> str(err)
    'mnist: files not found; pass download=True to fetch them'
    >>> str(err.with_fetch_hint("--download"))
    'mnist: files not found; pass --download to fetch them'
    """

    API_HINT = "download=True"

    def __init__(self, *args: object, template: str | None = None) -> None:
        super().__init__(*args)
        self.template = template

    @classmethod
    def from_template(cls, template: str) -> DatasetNotFoundError:
        """The error whose message is ``template`` with ``{fetch}`` read as ``download=True``."""
        return cls(template.replace("{fetch}", cls.API_HINT), template=template)

    def with_fetch_hint(self, fetch: str) -> DatasetNotFoundError:
        """The same error, its message naming ``fetch`` as the way to download (itself when it
        has no template)."""
        if self.template is None:
            return self
        return type(self)(self.template.replace("{fetch}", fetch), template=self.template)
