"""How a pipeline plugs into the one scoring interface: two typed plugin shapes and their context.

A **per-row** plugin (:class:`RowScoringPlugin`) gives one output row per input row: the interface
builds or reads the input, validates it against the model's features, predicts in chunks, then
lets the plugin finalize (bands, ranks), explain, and derive companion tables (an alerts table)
from the scored rows. A **whole-input** plugin (:class:`FrameScoringPlugin`) turns the whole input
into its tables at once (forecasts per series and date, plus a replenishment table).

Both take the :class:`ScoringContext` first, then the model, then what the step works on. Both may
declare parameters as a pydantic model (``params_model``): from Python they arrive as keyword
arguments of :func:`kpredict.score`, from the command line as ``--name value`` options, validated
with errors that name the parameter. Both may ``deliver`` after the manifest is written (send
alerts); a failed delivery is reported (exit code 5) and leaves every written file as it is.

:class:`RowScoring` and :class:`FrameScoring` give the optional steps their defaults.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ValidationError

from kpredict.config.loader import ConfigModel, validation_message
from kpredict.errors import ConfigError
from kpredict.scoring.bundle import ModelBundle

__all__ = [
    "FrameScoring",
    "FrameScoringPlugin",
    "NoParams",
    "RowScoring",
    "RowScoringPlugin",
    "Scored",
    "ScoringContext",
    "ScoringInput",
    "WrittenOutput",
    "descending_rank",
    "parse_cli_params",
    "validate_params",
]


class NoParams(ConfigModel):
    """A plugin without parameters: any parameter given is an error naming it."""


@dataclass(frozen=True)
class ScoringContext:
    """One scoring job: the pipeline's settings, the date, the model, the parameters, the engine.

    ``estimator`` is the loaded model, for the hooks that get no estimator argument (companions).
    """

    pipeline: str
    config: Any
    as_of: pd.Timestamp
    bundle: ModelBundle
    params: BaseModel
    engine: str = "local"
    estimator: Any = None


@dataclass
class ScoringInput:
    """The rows to score and what the manifest records about where they came from."""

    frame: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scored:
    """A whole-input plugin's output table, its companion tables and input facts for the manifest."""

    frame: pd.DataFrame
    info: dict[str, Any] = field(default_factory=dict)
    companions: dict[str, pd.DataFrame] = field(default_factory=dict)
    monitoring: pd.DataFrame | None = None  # rows whose columns the model's monitoring profile compares (input drift)


@dataclass(frozen=True)
class WrittenOutput:
    """What a job wrote (handed to ``deliver`` once the manifest is in place)."""

    output: Path
    manifest: Path
    companions: dict[str, Path]
    frame: pd.DataFrame
    companion_frames: dict[str, pd.DataFrame]


@runtime_checkable
class RowScoringPlugin(Protocol):
    """One output row per input row, validated against the model's features."""

    params_model: type[BaseModel]

    def load_estimator(self, bundle: ModelBundle) -> Any:
        """The fitted model from the bundle's files."""

    def scoring_input(self, context: ScoringContext) -> ScoringInput:
        """The rows to score as of ``context.as_of``, from the feature store (the training path)."""

    def predict_chunk(self, estimator: Any, features: pd.DataFrame) -> pd.DataFrame:
        """Predictions for a slice of rows (no context: it is shipped to Dask workers as is)."""

    def finalize(self, context: ScoringContext, result: pd.DataFrame) -> pd.DataFrame:
        """Columns derived from the predictions (band, rank...); rows stay in input order."""

    def explain(self, context: ScoringContext, estimator: Any, features: pd.DataFrame, result: pd.DataFrame, count: int) -> pd.DataFrame:
        """Reason columns for ``count`` rows (one row per result row; blanks elsewhere)."""

    def companions(self, context: ScoringContext, result: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Further tables derived from the scored rows, written beside the output."""

    def deliver(self, context: ScoringContext, written: WrittenOutput) -> None:
        """Hand the written output on (alerts to a chat or ticket queue); runs after the manifest."""


@runtime_checkable
class FrameScoringPlugin(Protocol):
    """The whole input at once: forecasts per series and date, plus companion tables."""

    params_model: type[BaseModel]

    def load_estimator(self, bundle: ModelBundle) -> Any:
        """The fitted model from the bundle's files."""

    def score_frame(self, context: ScoringContext, estimator: Any) -> Scored:
        """The output table (business keys first), input facts and companion tables."""

    def deliver(self, context: ScoringContext, written: WrittenOutput) -> None:
        """Hand the written output on; runs after the manifest."""


class _Defaults:
    params_model: type[BaseModel] = NoParams

    def load_estimator(self, bundle: ModelBundle) -> Any:
        """The model through the loader named in its ``kpredict_model.json``."""
        from kpredict.scoring.packaging import load_packaged

        return load_packaged(bundle.directory, bundle.meta)

    def deliver(self, context: ScoringContext, written: WrittenOutput) -> None:
        """Nothing to deliver by default."""


class RowScoring(_Defaults):
    """Base of per-row plugins: no parameters, the packaged loader, no reasons, companions or delivery."""

    def finalize(self, context: ScoringContext, result: pd.DataFrame) -> pd.DataFrame:
        return result

    def explain(self, context: ScoringContext, estimator: Any, features: pd.DataFrame, result: pd.DataFrame, count: int) -> pd.DataFrame:
        return pd.DataFrame(index=range(len(result)))

    def companions(self, context: ScoringContext, result: pd.DataFrame) -> dict[str, pd.DataFrame]:
        return {}


class FrameScoring(_Defaults):
    """Base of whole-input plugins: no parameters, the packaged loader, no delivery."""


def descending_rank(values: np.ndarray, tie_break: np.ndarray) -> np.ndarray:
    """1 for the largest value; ties go to the smaller ``tie_break`` so that re-runs agree."""
    order = np.lexsort([tie_break, -np.asarray(values)]) if len(values) else np.zeros(0, dtype=int)
    rank = np.empty(len(values), dtype=np.int64)
    rank[order] = np.arange(1, len(values) + 1)
    return rank


def validate_params(model: type[BaseModel], values: Mapping[str, Any], *, pipeline: str) -> BaseModel:
    """The plugin's parameters, validated; errors name the parameter and what was expected.

    Raises:
        ConfigError: an unknown parameter or a value of the wrong kind.
    """
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        message = validation_message(exc, model, f"scoring parameters of pipeline {pipeline!r}")
        known = sorted(model.model_fields)
        raise ConfigError(message.replace(" at the top level", "") + (f"\n  parameters of {pipeline!r}: {known}" if known else f"\n  pipeline {pipeline!r} takes no parameters")) from None


def parse_cli_params(args: Sequence[str]) -> dict[str, str]:
    """``--budget 1000 --scenario=s.csv --dry-run`` → ``{"budget": "1000", "scenario": "s.csv", "dry_run": "true"}``.

    The values stay text: the plugin's pydantic model converts them (``"1000"`` → 1000.0).

    Raises:
        ConfigError: an argument that is not an option, or an option given twice.
    """
    values: dict[str, str] = {}
    items = list(args)
    position = 0
    while position < len(items):
        item = items[position]
        if not item.startswith("--") or item == "--":
            raise ConfigError(f"Pipeline parameters are options like '--name value'; got the stray argument {item!r}.")
        name, has_value, value = item[2:].partition("=")
        if not has_value:
            following = items[position + 1] if position + 1 < len(items) else None
            if following is None or following.startswith("--"):
                value = "true"  # a flag
            else:
                value = following
                position += 1
        key = name.replace("-", "_")
        if key in values:
            raise ConfigError(f"Pipeline parameter '--{name}' is given twice.")
        values[key] = value
        position += 1
    return values
