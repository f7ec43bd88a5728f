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
    rows: pd.DataFrame  # rank, customer_id, probability, band, [contact], reason_1..3, action — sorted by rank
    scored: int = 0
    at_risk_only: bool = True
    horizon_days: int | None = None  # the probability is of leaving within this many days
    capacity: int | None = None  # customers the team can contact (the decision policy's capacity)
    contacted: int | None = None  # customers marked to contact now (None: the scores carry no contact column)

    @property
    def listed(self) -> int:
        return len(self.rows)

    @property
    def columns(self) -> tuple[str, ...]:
        """The list's columns in order; ``contact`` only when the scores say whom to contact."""
        contact = ("contact",) if self.contacted is not None else ()
        return ("rank", "customer_id", "probability", "band", *contact, "reason_1", "reason_2", "reason_3", "action")
