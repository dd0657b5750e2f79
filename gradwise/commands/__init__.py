"""Subcommands of the ``gradwise`` command, each module exposing ``register(subparsers)``."""
