"""The version of gradwise (one place; ``gradwise.__version__`` and the report read it)."""

__version__ = "0.1.0"
