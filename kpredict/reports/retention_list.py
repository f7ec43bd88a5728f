"""What the retention list shows, independent of its layout (the Excel and HTML writers read it)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["RetentionList"]


@dataclass
class RetentionList:
    """What both layouts show: the rows in the reader's language and the header facts."""

    lang: str
    title: str
    as_of: str
    model_name: str
    model_version: str
    run_id: str
    counts: dict[str, int]  # customers scored per band
    rows: pd.DataFrame  # rank, customer_id, probability, band, reason_1..3, action — sorted by rank
    scored: int = 0
    at_risk_only: bool = True

    @property
    def listed(self) -> int:
        return len(self.rows)
