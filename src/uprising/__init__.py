"""uprising: fast, faithful agent-based simulation of civil unrest.

The public surface is small, one pair of verbs per kind of scenario:

* Model I (Epstein 2002, one lattice): :class:`Scenario` (load, replace, hash) and
  :func:`simulate` (one run, returning a :class:`Result` with a tidy table);
* a country (many cities, each its own lattice, coupled by mechanisms on a dated
  timeline): :class:`CountryScenario` (load, replace, variant, hash) and
  :func:`simulate_country` (one run, returning a :class:`CountryResult`);

and the command line ``uprising``. Kernels live in :mod:`uprising.kernels`, the
mechanisms in :mod:`uprising.mechanisms`, plots in the optional :mod:`uprising.viz`.
"""

from .country.scenario import CountryScenario
from .country.simulate import CountryResult, simulate_country
from .scenario import Scenario, ScenarioError
from .simulate import Result, outbursts, simulate

__all__ = ["Scenario", "ScenarioError", "Result", "simulate", "outbursts",
           "CountryScenario", "CountryResult", "simulate_country"]
__version__ = "0.1.0"
