"""Forecasting recipes per data frequency, chosen on several public competitions together.

A preset is a :class:`ForecasterSettings` without the data's own facts: the frequency's season
length and the competitions' usual horizon are defaults, and anything can be overridden::

    Forecaster(preset="monthly", horizon=12)
    preset_settings("daily", freq="D", horizon=28, n_jobs=2)

Evidence (kpredict against the fixed mean of AutoETS + AutoTheta + AutoARIMA and the best single
model, same series, same run) is in the README's table and ``python -m benchmarks.bench_presets``.
"""

from __future__ import annotations

from typing import Any

from kpredict.errors import ConfigError

__all__ = ["PRESETS", "preset_settings"]

_ETS_THETA_ARIMA = [{"model": "AutoETS"}, {"model": "AutoTheta"}, {"model": "AutoARIMA"}]
#: series too short to cross-validate (yearly, quarterly, monthly): the three-model mean too. With
#: AutoETS + AutoTheta alone they cost MASE on M1 (yearly 3.513 -> 3.496, quarterly 1.586 -> 1.581,
#: monthly 1.080 -> 1.071 with AutoARIMA added; Tourism yearly unchanged, benchmarks/bench_presets.py)
_SHORT_MEAN3 = {"short_models": _ETS_THETA_ARIMA}

#: frequency → settings; ``freq`` and ``horizon`` are defaults the caller usually replaces
PRESETS: dict[str, dict[str, Any]] = {
    "yearly": dict(
        freq="YS", season_length=1, horizon=6,
        models=[*_ETS_THETA_ARIMA, {"model": "RandomWalkWithDrift"}], baselines=[{"model": "Naive"}],
        cv_windows=3, cv_step=1, min_train_length=6, selection="combination", top_k=3, **_SHORT_MEAN3,
    ),
    "quarterly": dict(
        freq="QS", season_length=4, horizon=8,
        models=_ETS_THETA_ARIMA, baselines=[{"model": "SeasonalNaive"}, {"model": "Naive"}],
        cv_windows=3, cv_step=4, min_train_length=12, selection="combination", top_k=3, **_SHORT_MEAN3,
    ),
    "monthly": dict(
        freq="MS", season_length=12, horizon=18,
        models=_ETS_THETA_ARIMA, baselines=[{"model": "SeasonalNaive"}, {"model": "Naive"}],
        cv_windows=3, cv_step=12, min_train_length=24, selection="combination", top_k=3, **_SHORT_MEAN3,
    ),
    "weekly": dict(
        freq="W-SUN", season_length=52, horizon=13,
        models=[{"model": "AutoTheta"}, {"model": "AutoARIMA", "params": {"season_length": 1}, "alias": "ARIMA"},
                {"model": "AutoETS", "params": {"season_length": 1}, "alias": "ETS"}],
        baselines=[{"model": "SeasonalNaive"}, {"model": "Naive"}],
        cv_windows=3, cv_step=13, min_train_length=52, selection="combination", top_k=3,
    ),
    "daily": dict(
        freq="D", season_length=7, horizon=14,
        models=_ETS_THETA_ARIMA, baselines=[{"model": "SeasonalNaive"}, {"model": "Naive"}],
        # the whole history, as statsforecast fits by default: on NN5 (~735 days) the last 364 days
        # cost MASE 0.846 / sMAPE 21.58 against 0.835 / 21.18, for a fit 4x faster (500 s vs 2,100 s
        # on 2 cores); pass cv_input_size=364 where long daily histories make that worth it
        cv_windows=3, cv_step=14, min_train_length=28, cv_input_size=None, selection="combination", top_k=3,
    ),
    "hourly": dict(
        freq="h", season_length=24, horizon=48,
        models=[{"model": "MSTL", "params": {"season_length": [24, 168]}}, {"model": "AutoTheta"}, {"model": "AutoETS"}],
        baselines=[{"model": "SeasonalNaive"}],
        cv_windows=3, cv_step=48, min_train_length=336, cv_input_size=1008, selection="combination", top_k=3,
    ),
}


def preset_settings(name: str, **overrides: Any):
    """The :class:`ForecasterSettings` of preset ``name`` with ``overrides`` (any settings field)."""
    from dataclasses import fields

    from kpredict.forecasting.forecaster import ForecasterSettings

    if name not in PRESETS:
        raise ConfigError(f"unknown forecasting preset {name!r}; expected one of {sorted(PRESETS)}")
    known = {f.name for f in fields(ForecasterSettings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(f"preset {name!r}: unknown setting(s) {unknown}; expected some of {sorted(known)}")
    return ForecasterSettings(**{**PRESETS[name], **overrides})
