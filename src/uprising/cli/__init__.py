"""Command line: thin wrappers that parse arguments, call the drivers and draw the figures (the edge).

The group :data:`cli` gathers one module per command group:

- :mod:`.model_one`: ``run`` (Model I; a country file is handed to :mod:`.country`), ``bench``, ``validate``
- :mod:`.country`: ``fit`` and ``compare`` of country scenarios (and ``run`` of one)
- :mod:`.experiments`: ``experiment``, ``runs``, ``sensitivity``, ``calibrate``, ``cluster``
- :mod:`.joint`: ``joint`` (the joint posterior of several episodes) and ``predict`` (an episode not fitted)
- :mod:`.viz`: ``plot``, ``animate``, ``report``
- :mod:`.app`: ``serve`` (the web explorer)

and :mod:`.common` holds what they share. :func:`main` is the console script ``uprising`` (and
``python -m uprising``): bad input (a scenario that cannot be read or validated, a bad ``--set``) prints
one line, ``uprising: error: FILE: FIELD: what is allowed``, and exits with 2.
"""

from __future__ import annotations

import sys

import click

from ..scenario import ScenarioError
from . import app, country, experiments, joint, model_one, viz
from .common import UsageFailure

__all__ = ["cli", "main", "UsageFailure"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="uprising")
def cli() -> None:
    """uprising: fast, faithful simulation of civil unrest (Epstein 2002 and extensions)."""


for _command in (model_one.run, model_one.bench, model_one.validate,
                 experiments.experiment_cmd, experiments.runs_group, experiments.cluster_group,
                 experiments.sensitivity_cmd, experiments.calibrate_cmd, joint.joint_cmd, joint.predict_cmd,
                 country.fit_cmd, country.compare_cmd,
                 viz.plot_cmd, viz.animate_cmd, viz.report_cmd,
                 app.serve):
    cli.add_command(_command)


#: the longest error line printed (the values in it are cut by :func:`uprising.scenario.echo` already;
#: this bounds whatever else a message repeats)
LONGEST_ERROR = 2000


def one_line(text: str) -> str:
    """``text`` as one line (runs of white space, new lines included, become one space) of at most
    :data:`LONGEST_ERROR` characters."""
    text = " ".join(text.split())
    return text if len(text) <= LONGEST_ERROR else text[:LONGEST_ERROR] + f"... ({len(text):,} characters)"


def main(argv: list[str] | None = None) -> None:
    """Entry point: runs the click group, turning bad input into one line and exit code 2."""
    try:
        cli.main(args=argv, prog_name="uprising", standalone_mode=False)
    except (ScenarioError, UsageFailure) as exc:
        click.echo(f"uprising: error: {one_line(str(exc))}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("uprising: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"uprising: error: {one_line(exc.format_message())}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("uprising: interrupted", err=True)
        sys.exit(130)
