"""Log any kpredict model to MLflow as files a scorer reads without unpickling anything.

One packager for every model kind (:mod:`kpredict.scoring.kinds`): the model's files and its
``kpredict_model.json`` go into the run as the artifacts of one pyfunc logged as code
(:mod:`kpredict.scoring.pyfunc_model`). The JSON names the model's ``loader`` and ``predictor``
(``"module:function"``) and its ``output_schema``, so scoring, the champion gate and
``mlflow models predict`` all load it the same way, and a model loads with
``MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false``.
"""

from __future__ import annotations

import importlib
import json
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from kpredict.errors import ConfigError, ModelNotFoundError
from kpredict.scoring.bundle import MODEL_DIR, MODEL_META
from kpredict.scoring.kinds import KINDS, read_meta

__all__ = ["PackagedModel", "load_packaged", "load_packaged_directory", "log_model", "predict_packaged"]

_PYFUNC_CODE = Path(__file__).with_name("pyfunc_model.py")
_TYPES = ("double", "float", "long", "integer", "boolean", "string", "datetime")
# Models registered before the JSON named its loader: their pipeline tells the kind.
_LEGACY_KINDS = {"churn": "classifier", "sales_forecast": "forecaster"}


@dataclass
class PackagedModel:
    """A fitted model and what is needed to serve it.

    Attributes:
        estimator: the fitted model.
        kind: a key of :data:`kpredict.scoring.kinds.KINDS` (how it is saved and loaded).
        meta: what scoring needs (pipeline, feature_spec, ...); written to ``kpredict_model.json``
            with the loader, predictor, output schema and library versions added.
        example: a few input rows, for the signature and the input example.
        inputs: ``[(column, type), ...]`` of the input; default from ``meta["feature_spec"]``
            (numeric as double, categorical as string, every feature optional).
        outputs: ``[(column, type), ...]`` of what the predictor returns.
        libraries: distributions whose versions must match at load (major.minor).
    """

    estimator: Any
    kind: str
    meta: dict[str, Any]
    example: pd.DataFrame
    outputs: list[tuple[str, str]]
    inputs: list[tuple[str, str]] | None = None
    libraries: list[str] = field(default_factory=lambda: ["pandas", "numpy"])

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"The model kind must be one of {sorted(KINDS)}; got {self.kind!r}.")
        for name, dtype in [*self.outputs, *(self.inputs or [])]:
            if dtype not in _TYPES:
                raise ConfigError(f"The type of column {name!r} must be one of {list(_TYPES)}; got {dtype!r}.")


def _feature_inputs(meta: dict[str, Any]) -> list[tuple[str, str]]:
    spec = meta["feature_spec"]
    return [(name, "double") for name in spec["numeric"]] + [(name, "string") for name in spec["categorical"]]


def log_model(model: PackagedModel) -> str:
    """Log ``model`` as a pyfunc in the active MLflow run; returns the logged model's URI."""
    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from kpredict.tracking import pip_requirements

    kind = KINDS[model.kind]
    inputs = model.inputs if model.inputs is not None else _feature_inputs(model.meta)
    # Every input column may be missing: a features table read from CSV by `mlflow models predict`
    # then passes MLflow's schema check and meets kpredict's own validation instead.
    input_schema = Schema([ColSpec(dtype, name, required=False) for name, dtype in inputs])
    output_schema = Schema([ColSpec(dtype, name) for name, dtype in model.outputs])
    example = model.example[[name for name, _ in inputs if name in model.example.columns]].copy()
    for name, dtype in inputs:
        if dtype == "string" and name in example.columns:
            example[name] = example[name].astype(object)
    meta = dict(model.meta)
    meta |= {
        "kind": model.kind,
        "loader": kind.loader,
        "predictor": kind.predictor,
        "output_schema": [{"name": name, "type": dtype} for name, dtype in model.outputs],
        "libraries": {name: metadata.version(name) for name in model.libraries},
    }
    requirements = ["kpredict", *model.libraries] if _installed("kpredict") else list(model.libraries)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / MODEL_DIR
        directory.mkdir()
        kind.save(model.estimator, directory)
        (directory / MODEL_META).write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(_PYFUNC_CODE),
            artifacts={MODEL_DIR: str(directory)},
            signature=ModelSignature(inputs=input_schema, outputs=output_schema),
            input_example=example,
            pip_requirements=pip_requirements(requirements),
        )
    return info.model_uri


def load_packaged(directory: Path, meta: dict[str, Any] | None = None) -> Any:
    """The fitted model in ``directory`` (the folder holding ``kpredict_model.json``), via its loader."""
    meta = read_meta(directory) if meta is None else meta
    return _resolve(_reference(meta, "loader"))(directory, meta)


def predict_packaged(estimator: Any, frame: pd.DataFrame, meta: dict[str, Any]) -> pd.DataFrame:
    """The model's output table for an input table, via its predictor."""
    return _resolve(_reference(meta, "predictor"))(estimator, frame, meta)


def load_packaged_directory(root: Path) -> Any:
    """The fitted model of a downloaded MLflow model directory (searched for ``kpredict_model.json``)."""
    found = next(Path(root).rglob(MODEL_META), None)
    if found is None:
        raise ModelNotFoundError(f"{root} holds no {MODEL_META}; the model was not logged by kpredict")
    return load_packaged(found.parent)


def _reference(meta: dict[str, Any], role: str) -> str:
    if role in meta:
        return str(meta[role])
    legacy = _LEGACY_KINDS.get(str(meta.get("pipeline")))
    if legacy is None:
        raise ModelNotFoundError(f"{MODEL_META} names no {role}; the model was logged by another tool or version")
    return getattr(KINDS[legacy], role)


def _resolve(reference: str) -> Any:
    """Import ``module:attribute`` — only from kpredict or a discovered pipeline's package."""
    from kpredict.pipeline import trusted_module

    module_name, _, attribute = reference.partition(":")
    if not attribute or not trusted_module(module_name):
        raise ModelNotFoundError(
            f"{MODEL_META} names {reference!r}; a model's loader and predictor must be functions of kpredict "
            "or of an installed kpredict pipeline"
        )
    target: Any = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    return target


def _installed(name: str) -> bool:
    try:
        metadata.version(name)
    except metadata.PackageNotFoundError:
        return False
    return True
