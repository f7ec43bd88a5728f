"""Model kinds: how each kind of fitted model is saved, loaded and served, never through pickle.

A kind is three functions. ``save`` writes the model's files into a directory; ``load`` (named in
``kpredict_model.json`` as ``"module:function"``) reads them back; ``predict`` (named the same way)
turns a table into the model's output table, for ``mlflow models predict``. Built in:

    classifier   kpredict.modeling.BoostedClassifier   LightGBM text + JSON calibrator
    forecaster   kpredict.forecasting.Forecaster       JSON choices + LightGBM text
    sklearn      any scikit-learn estimator            skops (arrays + a JSON schema)
    sklearn_classifier  a scikit-learn classifier served like ``classifier`` (LinearClassifier)

Why skops for scikit-learn: its format stores arrays and a schema, and loading builds only the types
it is told to trust; here every type of scikit-learn and of kpredict is trusted and anything else
(a function, a class from another package) refuses to load. ONNX (skl2onnx) would also avoid pickle
but converts to float32 and does not cover every estimator; hand-written JSON per estimator is the
kind of code we do not write when a maintained library does it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from kpredict.errors import ModelNotFoundError

__all__ = ["KINDS", "ModelKind", "load_sklearn", "predict_classifier", "predict_forecaster", "predict_sklearn"]

SKOPS_FILE = "estimator.skops"
_TRUSTED_PREFIXES = ("sklearn.", "kpredict.")
#: plain data types skops asks about: a dtype describes numbers, it builds no code (SimpleImputer keeps
#: one); scipy's BSpline is knots and coefficients (SplineTransformer keeps one per number, with a
#: reference to scipy's ``asarray``, which only converts)
_TRUSTED_TYPES = frozenset({"numpy.dtype", "scipy.interpolate._bsplines.BSpline", "scipy._lib.array_api_compat.numpy._aliases.asarray"})


@dataclass(frozen=True)
class ModelKind:
    """How one kind of model is saved, and where its loader and predictor live (import paths)."""

    name: str
    save: Callable[[Any, Path], None]
    loader: str
    predictor: str


# -------------------------------------------------------------------- classifier
def _save_to_artifacts(estimator: Any, directory: Path) -> None:
    estimator.to_artifacts(directory)


def load_classifier(directory: Path, meta: dict[str, Any]) -> Any:
    """A BoostedClassifier from its LightGBM text and JSON files."""
    from kpredict.modeling import BoostedClassifier

    return BoostedClassifier.from_artifacts(directory)


def _validated_features(frame: pd.DataFrame, meta: dict[str, Any]):
    """The features table checked like ``kpredict score`` checks it (keys are optional here)."""
    from kpredict.scoring.validate import FeatureSpec, validate_input

    spec = FeatureSpec.from_dict(meta["feature_spec"])
    if not all(key in frame.columns for key in spec.keys):
        frame = frame.assign(**{key: range(len(frame)) for key in spec.keys})
    return spec, validate_input(frame, spec)


def predict_classifier(estimator: Any, frame: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    """Calibrated probability of the positive class, and the unseen-category flag, per row."""
    spec, validated = _validated_features(frame, meta)
    probability = estimator.predict_proba(validated.frame[spec.features])[:, 1]
    return pd.DataFrame({meta["prediction_column"]: probability, "unseen_category": validated.unseen_category})


# -------------------------------------------------------------------- forecaster
def load_forecaster(directory: Path, meta: dict[str, Any]) -> Any:
    """A Forecaster from its JSON state (and LightGBM text for the global model)."""
    from kpredict.forecasting import Forecaster

    return Forecaster.from_artifacts(directory)


def predict_forecaster(estimator: Any, frame: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    """The next ``horizon`` periods of every series in a long history frame.

    Known-future columns of the forecast dates are taken as 0 ("no holiday") when not given; pass
    them through ``kpredict score`` to use the calendars.
    """
    from kpredict.forecasting import prepare_series

    covariates = list(meta.get("known_future", []))
    history = prepare_series(frame, freq=estimator.settings.freq, extra_columns=[c for c in covariates if c in frame.columns])
    for column in covariates:
        if column not in history.columns:
            history[column] = 0.0
    future = None
    if covariates:
        index = estimator.future_index(history).to_frame(index=False)
        future = index.assign(**{column: 0.0 for column in covariates})
    return estimator.predict(history, future=future)


# -------------------------------------------------------------------- scikit-learn
def _save_sklearn(estimator: Any, directory: Path) -> None:
    import skops.io

    skops.io.dump(estimator, directory / SKOPS_FILE)


def load_sklearn(directory: Path, meta: dict[str, Any]) -> Any:
    """A scikit-learn estimator from its skops file, trusting only scikit-learn and kpredict types.

    Raises:
        ModelNotFoundError: the file holds a type from elsewhere (it is not loaded).
    """
    import skops.io

    path = directory / SKOPS_FILE
    untrusted = skops.io.get_untrusted_types(file=path)
    foreign = sorted(name for name in untrusted if not name.startswith(_TRUSTED_PREFIXES) and name not in _TRUSTED_TYPES)
    if foreign:
        raise ModelNotFoundError(
            f"model file {path.name} holds types outside scikit-learn and kpredict {foreign}; "
            "it is not loaded. Retrain the model with kpredict."
        )
    return skops.io.load(path, trusted=untrusted)


def predict_sklearn(estimator: Any, frame: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    """The estimator's ``meta["method"]`` (predict, score_samples, ...) on the validated features."""
    spec, validated = _validated_features(frame, meta)
    method = meta.get("method", "predict")
    values = getattr(estimator, method)(validated.frame[spec.features])
    return pd.DataFrame({meta["prediction_column"]: values, "unseen_category": validated.unseen_category})


KINDS: dict[str, ModelKind] = {
    "classifier": ModelKind("classifier", _save_to_artifacts, f"{__name__}:load_classifier", f"{__name__}:predict_classifier"),
    "forecaster": ModelKind("forecaster", _save_to_artifacts, f"{__name__}:load_forecaster", f"{__name__}:predict_forecaster"),
    "sklearn": ModelKind("sklearn", _save_sklearn, f"{__name__}:load_sklearn", f"{__name__}:predict_sklearn"),
    "sklearn_classifier": ModelKind("sklearn_classifier", _save_sklearn, f"{__name__}:load_sklearn", f"{__name__}:predict_classifier"),
}


def read_meta(directory: Path) -> dict[str, Any]:
    """The ``kpredict_model.json`` of a model directory."""
    from kpredict.scoring.bundle import MODEL_META

    return json.loads((directory / MODEL_META).read_text(encoding="utf-8"))
