"""What every ``wagehub`` command module shares: the hub it works on and how it fails.

The command modules import this, never :mod:`hub.cli.main` (``python -m hub.cli.main``
runs that module as ``__main__``, and a second copy of it would be a second ``wagehub``).
"""

from __future__ import annotations

import sys

import click


def open_hub(migrate: bool = True):
    """The hub of the settings in force (defaults, WAGEHUB_CONFIG, WAGEHUB_* variables)."""
    from hub.runtime import Hub

    return Hub(migrate=migrate)


def fail(exc: Exception) -> None:
    """End the command with ``error: ...`` on standard error and exit code 2."""
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)
