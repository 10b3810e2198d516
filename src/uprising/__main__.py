"""``python -m uprising``: the same command line as the ``uprising`` script."""

from .cli import main

main()
