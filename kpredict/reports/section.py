"""One decision's part of the business report, already in the reader's language.

A pipeline's ``section.py`` builds a :class:`Section` from its scoring output; the HTML page and
the Excel workbook lay sections out the same way, and the key figures and id lists (language-free)
are what the next report compares against to say what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

__all__ = ["Chart", "KeyFigure", "Section", "SectionTable"]

Format = Literal["count", "number", "money", "percent", "score"]  # score: 0..1 with four decimals


@dataclass(frozen=True)
class KeyFigure:
    """A number a reader acts on. ``key`` is stable across reports and languages (it is compared)."""

    key: str
    label: str
    value: float
    format: Format = "count"
    higher_is: Literal["better", "worse", "neutral"] = "neutral"


@dataclass(frozen=True)
class SectionTable:
    """A table with headers already in the reader's language. ``band`` names a column to colour by
    severity; ``band_values`` maps its shown words to ``critical`` / ``high`` / ``medium`` / ``low``.
    The page shows the first ``page_rows`` rows; the workbook has them all."""

    title: str
    frame: pd.DataFrame
    formats: dict[str, Format] = field(default_factory=dict)
    band: str | None = None
    band_values: dict[str, str] = field(default_factory=dict)
    page_rows: int = 50


@dataclass(frozen=True)
class Chart:
    """A PNG and the sentence that says what it shows."""

    caption: str
    png: bytes


@dataclass
class Section:
    """One decision: a heading, what to do in a sentence or two, figures, charts, tables, how to read."""

    key: str  # replenishment | retention | risk | budget (the HTML anchor and the workbook sheet)
    title: str
    sheet: str  # the workbook sheet name (<= 31 characters)
    lede: str
    model: str  # "version 3, scored 2026-11-01" in the reader's language
    model_version: str = "—"
    figures: list[KeyFigure] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[SectionTable] = field(default_factory=list)
    how_to_read: str = ""
    ids: dict[str, list[str]] = field(default_factory=dict)  # e.g. {"customers_listed": [...]}: compared next time
