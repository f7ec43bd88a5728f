"""The one batch scoring interface (Python API + ``kpredict score``) for every pipeline, and the two
plugin shapes a pipeline implements to plug into it (:mod:`kpredict.scoring.plugin`)."""

from __future__ import annotations

from kpredict.scoring.interface import ScoreResult, score
from kpredict.scoring.plugin import (
    FrameScoring,
    FrameScoringPlugin,
    RowScoring,
    RowScoringPlugin,
    Scored,
    ScoringContext,
    ScoringInput,
)

__all__ = [
    "FrameScoring",
    "FrameScoringPlugin",
    "RowScoring",
    "RowScoringPlugin",
    "ScoreResult",
    "Scored",
    "ScoringContext",
    "ScoringInput",
    "score",
]
