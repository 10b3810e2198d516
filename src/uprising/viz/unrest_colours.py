"""The one colour scale of unrest on a map, shared by the PNG map (:mod:`uprising.viz.country_plots`) and the
explorer's map (:mod:`uprising.app`), so that both say the same thing with the same colours.

Rule: unrest is active + violent citizens per 1,000 residents; the scale is sequential and perceptually
ordered (lightness falls monotonically: pale yellow for calm, through orange and red, to dark red for the most
disturbed), so more unrest is darker and hotter; its range is fixed, 0 to :data:`UNREST_MAX_PER_1000`, the same
for every run and every time of the slider, and anything above the top is drawn in the darkest colour.
Plain data only (no matplotlib): the explorer's server reads it without the plotting extra.
"""

from __future__ import annotations

#: the top of the fixed range, in active + violent citizens per 1,000 residents (10% of the residents out);
#: a city above it is drawn in the darkest colour and its value is still shown on hover
UNREST_MAX_PER_1000 = 100.0

#: the scale's stops as (position in [0, 1], colour): ColorBrewer's sequential yellow-orange-red, nine classes,
#: light to dark (Harrower & Brewer 2003, The Cartographic Journal 40(1):27-37)
UNREST_STOPS: tuple[tuple[float, str], ...] = tuple(
    (i / 8, colour) for i, colour in enumerate(
        ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026")))

#: the legend's title, saying the unit
UNREST_LEGEND = "active + violent per 1,000 residents"


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of ``#rrggbb`` (0 black to 1 white): the scale's stops fall monotonically in it."""
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) / 255.0 for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
