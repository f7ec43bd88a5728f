"""The one batch scoring interface (Python API + ``kpredict score``) for all four pipelines."""

from __future__ import annotations

from kpredict.scoring.interface import ScoreResult, score

__all__ = ["ScoreResult", "score"]
