"""Command line of the web explorer: ``uprising serve`` (the ``app`` extra)."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add the web explorer's commands to ``group``."""
