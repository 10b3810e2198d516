"""What a checkout records about the model's validation, read at the edge and handed to the report.

The validation suite writes its summary to ``docs/data/validation.json`` (``uprising validate``), and
``docs/validation.md`` and ``docs/kazakhstan.md`` explain it and the committed fit. These live in the
checkout only, not in the package: :func:`read_checkout_record` reads them from a checkout's root, and
the report says so where a verdict would stand when it is handed none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CheckoutRecord:
    """The validation record of one checkout (``root``): the suite's summary and the pages that explain it.

    ``suite`` is docs/data/validation.json (None when the suite has not been run), ``validation_page`` the
    text of docs/validation.md and ``fit_page`` that of docs/kazakhstan.md (None when absent)."""

    root: Path
    suite: dict[str, Any] | None
    validation_page: str | None
    fit_page: str | None

    @property
    def docs(self) -> Path:
        """The checkout's docs/ (the base of the images its pages name)."""
        return self.root / "docs"

    @property
    def scenarios(self) -> Path:
        """The checkout's scenarios/ (the paper's files the suite ran, Mesa's and NetLogo's rules)."""
        return self.root / "scenarios"


def _text(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def read_checkout_record(root: str | Path) -> CheckoutRecord | None:
    """The validation record of the checkout at ``root``; None when ``root`` is no checkout (no docs/ folder,
    as for an installed package)."""
    root = Path(root)
    docs = root / "docs"
    if not docs.is_dir():
        return None
    suite_text = _text(docs / "data" / "validation.json")
    return CheckoutRecord(root, json.loads(suite_text) if suite_text is not None else None,
                          _text(docs / "validation.md"), _text(docs / "kazakhstan.md"))
