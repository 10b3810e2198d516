"""Command line of figures, animations and reports from results: ``uprising plot``, ``animate``, ``report``."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add the figure, animation and report commands to ``group``."""
