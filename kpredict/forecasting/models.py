"""Candidate forecasting models named in config, built as statsforecast model objects.

A model is given by its statsforecast class name plus keyword arguments, so a trained forecaster
is stored as JSON (names + arguments), never as pickled objects. Only classes listed here can be
named: a config file cannot make kpredict import arbitrary code.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from kpredict.errors import ConfigError

__all__ = ["INTERMITTENT_MODELS", "STATISTICAL_MODELS", "ModelSpec", "build_model"]

#: statsforecast classes a config may name for regular (smooth / erratic) series
STATISTICAL_MODELS = (
    "AutoETS", "AutoARIMA", "AutoTheta", "AutoCES", "ARIMA", "ETS", "MSTL", "Theta", "OptimizedTheta",
    "DynamicTheta", "DynamicOptimizedTheta", "SeasonalNaive", "Naive", "RandomWalkWithDrift",
    "HistoricAverage", "WindowAverage", "SeasonalWindowAverage", "SimpleExponentialSmoothing",
    "SimpleExponentialSmoothingOptimized", "Holt", "HoltWinters",
)
#: the intermittent-demand family, for intermittent and lumpy series
INTERMITTENT_MODELS = ("CrostonClassic", "CrostonOptimized", "CrostonSBA", "ADIDA", "IMAPA", "TSB")

_ALLOWED = set(STATISTICAL_MODELS) | set(INTERMITTENT_MODELS)
#: arguments statsforecast requires without a default (TSB's smoothing weights, the usual 0.1)
_REQUIRED_DEFAULTS: dict[str, dict[str, Any]] = {"TSB": {"alpha_d": 0.1, "alpha_p": 0.1}}


@dataclass(frozen=True)
class ModelSpec:
    """One candidate: statsforecast class, its arguments, and the column name (alias) it writes."""

    model: str
    params: dict[str, Any] = field(default_factory=dict)
    alias: str | None = None

    @property
    def name(self) -> str:
        return self.alias or self.model

    @classmethod
    def parse(cls, entry: str | dict[str, Any]) -> ModelSpec:
        """``"AutoETS"`` or ``{model: AutoETS, alias: ETS_damped, params: {damped: true}}``."""
        if isinstance(entry, str):
            entry = {"model": entry}
        if not isinstance(entry, dict) or "model" not in entry:
            raise ConfigError(f"a forecasting model must be a name or a mapping with 'model'; got {type(entry).__name__}")
        unknown = set(entry) - {"model", "params", "alias"}
        if unknown:
            raise ConfigError(f"forecasting model entry has unknown key(s) {sorted(unknown)}; expected model, params, alias")
        spec = cls(str(entry["model"]), dict(entry.get("params") or {}), entry.get("alias"))
        if spec.model not in _ALLOWED:
            raise ConfigError(f"unknown forecasting model {spec.model!r}; expected one of {sorted(_ALLOWED)}")
        return spec

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "params": self.params, "alias": self.name}


def build_model(spec: ModelSpec, season_length: int):
    """The statsforecast model object, with ``season_length`` filled in where the class takes it."""
    import statsforecast.models as sf_models

    cls = getattr(sf_models, spec.model)
    accepted = inspect.signature(cls.__init__).parameters
    params = {**_REQUIRED_DEFAULTS.get(spec.model, {}), **spec.params}
    if "season_length" in accepted and "season_length" not in params:
        params["season_length"] = season_length
    unknown = set(params) - set(accepted)
    if unknown:
        raise ConfigError(f"model {spec.name!r} ({spec.model}) does not take argument(s) {sorted(unknown)}")
    params["alias"] = spec.name
    return cls(**params)
