"""uprising: fast, faithful agent-based simulation of civil unrest.

The public surface is small: :class:`Scenario` (load, replace, hash), :func:`simulate`
(one run, returning a :class:`Result` with a tidy table) and the command line
``uprising``. Kernels live in :mod:`uprising.kernels`, the model in
:mod:`uprising.model`, plots in the optional :mod:`uprising.viz`.
"""

from .scenario import Scenario, ScenarioError
from .simulate import Result, outbursts, simulate

__all__ = ["Scenario", "ScenarioError", "Result", "simulate", "outbursts"]
__version__ = "0.1.0"
