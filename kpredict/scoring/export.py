"""The features a registered model reads, exported as a table: what ``kpredict score`` builds
from the feature store before it predicts, for ``mlflow models predict`` or a notebook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from kpredict.errors import ConfigError
from kpredict.scoring.plugin import RowScoringPlugin, ScoringContext

__all__ = ["export_features", "write_features"]


def export_features(pipeline: str, as_of: str | pd.Timestamp, *, model: str | int = "champion", config: Any = None, **params: Any) -> pd.DataFrame:
    """The entity keys and the model's feature columns as of ``as_of`` (the scoring input, unscored).

    Raises:
        ConfigError: the pipeline reads its own history (forecasts, budgets) rather than a
            features table; ModelNotFoundError: no such model.
    """
    from kpredict.scoring.bundle import load_bundle
    from kpredict.scoring.interface import _parse_as_of, _plugin
    from kpredict.scoring.plugin import validate_params
    from kpredict.scoring.validate import FeatureSpec

    descriptor, plugin = _plugin(pipeline)
    if not isinstance(plugin, RowScoringPlugin):
        raise ConfigError(f"pipeline {pipeline!r} reads its history as of the date itself; it has no features table to export (pipelines that have one score per row, e.g. churn)")
    stamp = _parse_as_of(as_of)
    parameters = validate_params(plugin.params_model, params, pipeline=pipeline)
    bundle = load_bundle(pipeline, model)
    context = ScoringContext(pipeline, descriptor.load_config(config), stamp, bundle, parameters)
    frame = plugin.scoring_input(context).frame
    spec = FeatureSpec.from_dict(bundle.meta["feature_spec"])
    return frame[[*spec.keys, *spec.features]].reset_index(drop=True)


def write_features(frame: pd.DataFrame, out: str | Path) -> Path:
    """Write an exported table atomically, CSV or parquet by the file's extension."""
    from kpredict.scoring.output import resolve_output_path, write_table

    path = resolve_output_path(Path.cwd(), Path(out).resolve(), default_name="features.csv")
    write_table(frame, path)
    return path
