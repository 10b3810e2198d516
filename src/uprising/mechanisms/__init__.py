"""The country model's mechanisms: one module each, and the one registry of them.

:data:`ORDER` names the mechanisms' modules in the order a step runs them, and is the only list of
mechanisms in uprising. Everything else is derived from it: the country scenario's tables and its kinds
of events (:func:`uprising.country.scenario.scenario_class`), which mechanism governs each kind of event,
the run order and the kernel switches (:mod:`uprising.country.model`), the values the driver records
(:mod:`uprising.country.simulate`), the parameter tables of docs/country-model.md
(:mod:`uprising.country.params_doc`) and the report's mechanism list.

A later mechanism may read what an earlier one reported in the same step: contagion reads the blackout's
level, escalation the intervention's guarded sites. Mechanisms that write different inputs and read none
of each other's reports commute (only ``sites`` draws random numbers, from a stream of its own, and it
writes none of the kernel's inputs), so their relative order does not change
results. Adding a mechanism is one new module (see docs/country-model.md, "Adding a mechanism") and its
name in :data:`ORDER`.
"""

from __future__ import annotations

from importlib import import_module

from .base import Mechanism

#: the mechanisms' modules (each defines ``MECHANISM``), in the order a step runs them
ORDER = ("price", "exposure", "legitimacy", "availability", "emergency", "blackout", "contagion", "lethal_force",
         "intervention", "escalation", "repression", "policing", "detention", "sites", "travel")



def _load(module: str) -> Mechanism:
    """The ``MECHANISM`` of module ``module`` of this package, which must be named after it (its table)."""
    mechanism = import_module(f"{__name__}.{module}").MECHANISM
    if mechanism.name != module:
        raise ImportError(f"uprising.mechanisms.{module}: its mechanism is named {mechanism.name!r}; "
                          f"name it {module!r}, after its module")
    return mechanism


#: the registry: every mechanism, in the order a step runs them
MECHANISMS: tuple[Mechanism, ...] = tuple(_load(module) for module in ORDER)
