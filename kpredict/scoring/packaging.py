"""Log a kpredict model to MLflow: files a scorer can read without unpickling anything."""

from __future__ import annotations

import json
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from kpredict.scoring.bundle import MODEL_DIR, MODEL_META

__all__ = ["log_classifier", "log_forecaster"]

_PYFUNC_CODE = Path(__file__).with_name("pyfunc_classifier.py")
_PYFUNC_FORECASTER = Path(__file__).with_name("pyfunc_forecaster.py")


def log_classifier(estimator: Any, meta: dict[str, Any], example: pd.DataFrame, *, libraries: list[str]) -> str:
    """Log ``estimator`` (a fitted kpredict.modeling.BoostedClassifier) as a pyfunc in the active run.

    Args:
        meta: what scoring needs (pipeline, feature_spec, prediction_column, bands...); the
            versions of ``libraries`` are added so a mismatched install is refused at load.
        example: a few rows of the features table, for the signature and input example.

    Returns:
        The logged model's URI.
    """
    from mlflow.types import ColSpec, Schema

    spec = meta["feature_spec"]
    # Categoricals travel as text and every feature may be missing: a features table read from
    # CSV or parquet by `mlflow models predict` then passes MLflow's schema check.
    inputs = Schema(
        [ColSpec("double", name, required=False) for name in spec["numeric"]]
        + [ColSpec("string", name, required=False) for name in spec["categorical"]]
    )
    outputs = Schema([ColSpec("double", meta["prediction_column"]), ColSpec("boolean", "unseen_category")])
    example = example[[*spec["numeric"], *spec["categorical"]]].copy()
    for name in spec["categorical"]:
        example[name] = example[name].astype(object)
    return _log_pyfunc(estimator, meta, inputs, outputs, example, _PYFUNC_CODE, libraries)


def log_forecaster(forecaster: Any, meta: dict[str, Any], example: pd.DataFrame, *, libraries: list[str]) -> str:
    """Log a fitted kpredict.forecasting.Forecaster as a pyfunc: history in, forecasts out.

    The model is JSON + LightGBM text; ``mlflow models predict`` on a long frame
    (``unique_id, ds, y`` and the known-future columns) returns the next ``horizon`` periods.
    """
    from mlflow.types import ColSpec, Schema

    covariates = [c for c in example.columns if c not in ("unique_id", "ds", "y")]
    inputs = Schema(
        [ColSpec("string", "unique_id"), ColSpec("datetime", "ds"), ColSpec("double", "y")]
        + [ColSpec("double", name, required=False) for name in covariates]
    )
    levels = forecaster.settings.levels
    outputs = Schema(
        [ColSpec("string", "unique_id"), ColSpec("datetime", "ds"), ColSpec("double", "yhat")]
        + [ColSpec("double", f"yhat_{side}_{level}") for level in levels for side in ("lo", "hi")]
        + [ColSpec("string", "model")]
    )
    return _log_pyfunc(forecaster, meta, inputs, outputs, example, _PYFUNC_FORECASTER, libraries)


def _log_pyfunc(model: Any, meta: dict[str, Any], inputs, outputs, example: pd.DataFrame, code: Path, libraries: list[str]) -> str:
    """Write the model's files + ``kpredict_model.json`` and log them as a pyfunc from ``code``."""
    import mlflow
    from mlflow.models import ModelSignature

    from kpredict.tracking import pip_requirements

    meta = dict(meta)
    meta["libraries"] = {name: metadata.version(name) for name in libraries}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / MODEL_DIR
        directory.mkdir()
        model.to_artifacts(directory)
        (directory / MODEL_META).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(code),
            artifacts={MODEL_DIR: str(directory)},
            signature=ModelSignature(inputs=inputs, outputs=outputs),
            input_example=example,
            pip_requirements=pip_requirements(["kpredict", *libraries]) if _installed("kpredict") else pip_requirements(libraries),
        )
    return info.model_uri


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True
