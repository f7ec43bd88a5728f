"""The forecasting presets on every competition set in ../shared/data, against the references.

For each set: kpredict's preset (``Forecaster(preset=...)``) and, on the same series in the same
run, AutoETS, AutoTheta and AutoARIMA alone, their fixed mean (Mean3) and M4's Naive2; MASE,
sMAPE, OWA and the 80 / 95 % coverage of kpredict's intervals. Then the time per series of the
preset against raw StatsForecast running the same pool (the same cross-validation and forecast).
Presets are chosen on all the sets together, never on one:

    python -m benchmarks.bench_presets [--sets m1-monthly,nn5] [--n-jobs 2] [--set selection=ensemble]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "forecasting"


@dataclass
class CompetitionSet:
    name: str
    preset: str
    freq: str | int
    season_length: int
    horizon: int
    overrides: dict


SETS = {
    "m1-yearly": CompetitionSet("m1-yearly", "yearly", 1, 1, 6, {}),
    "m1-quarterly": CompetitionSet("m1-quarterly", "quarterly", 1, 4, 8, {}),
    "m1-monthly": CompetitionSet("m1-monthly", "monthly", 1, 12, 18, {}),
    "tourism-yearly": CompetitionSet("tourism-yearly", "yearly", "YS", 1, 4, {}),
    "tourism-quarterly": CompetitionSet("tourism-quarterly", "quarterly", "QS", 4, 8, {}),
    "tourism-monthly": CompetitionSet("tourism-monthly", "monthly", "MS", 12, 24, {}),
    "nn5": CompetitionSet("nn5", "daily", "D", 7, 56, {}),
}


def load(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(history prepared for forecasting, test) of a competition set."""
    from kpredict.datasets.competitions import load_m1, load_nn5
    from kpredict.datasets.tourism import load_tourism
    from kpredict.forecasting import prepare_series

    spec = SETS[name]
    if name.startswith("m1-"):
        train, test = load_m1(DATA / "m1" / "M1.csv", name.split("-", 1)[1])
    elif name.startswith("tourism-"):
        train, test = load_tourism(DATA / "tourism", name.split("-", 1)[1])
    else:
        train, test = load_nn5(DATA / "nn5" / "NN5_FINAL_DATASET_WITH_TEST_DATA.csv")
    return prepare_series(train, freq=spec.freq, missing_target="interpolate"), test


def evaluate_set(name: str, n_jobs: int = 1, **overrides) -> dict:
    """kpredict's preset and the references on one set: the comparison table and the seconds each took."""
    from kpredict.forecasting import Forecaster
    from kpredict.forecasting.metrics import NAIVE2
    from kpredict.forecasting.references import MEAN3, SINGLE_MODELS, compare, reference_forecasts

    spec = SETS[name]
    history, test = load(name)
    model = Forecaster(preset=spec.preset, freq=spec.freq, horizon=spec.horizon, nonnegative=True, n_jobs=n_jobs, **{**spec.overrides, **overrides})
    started = time.perf_counter()
    ours = model.fit(history).predict(history)
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    references = reference_forecasts(history, spec.horizon, spec.freq, spec.season_length, model.future_index(history), n_jobs=n_jobs)
    references_s = time.perf_counter() - started
    forecasts = {"kpredict": (ours, "yhat")} | {m: (references, m) for m in (*SINGLE_MODELS, MEAN3, NAIVE2)}
    table = compare(test, forecasts, history, spec.season_length, (references, NAIVE2), levels=(80, 95))
    selection = model.selection_
    short = int(selection["chosen_by"].str.startswith("short history").sum())
    return {"table": table, "seconds": ours_s, "references_seconds": references_s, "series": history["unique_id"].nunique(),
            "short_series": short, "models": selection["model"].value_counts().head(3).to_dict()}


def raw_pool_seconds(name: str, n_jobs: int = 1) -> tuple[float, float, int, int]:
    """(kpredict fit + predict, raw StatsForecast CV + forecast of the same pool) seconds on one set,
    and the series each covered: one raw ``cross_validation`` call takes one number of windows, so
    it runs the series long enough for all of them, while kpredict also cross-validates the
    shorter ones over the windows they allow and fits the short-history models (compare per series)."""
    from statsforecast import StatsForecast

    from kpredict.forecasting import Forecaster
    from kpredict.forecasting.models import build_model

    spec = SETS[name]
    history, _ = load(name)
    model = Forecaster(preset=spec.preset, freq=spec.freq, horizon=spec.horizon, n_jobs=n_jobs, **spec.overrides)
    s = model.settings
    started = time.perf_counter()
    model.fit(history).predict(history)
    ours = time.perf_counter() - started
    long_enough = history.groupby("unique_id").size() >= s.min_train + s.horizon + (s.cv_windows - 1) * s.step
    data = history[history["unique_id"].isin(long_enough.index[long_enough])]
    # the same fallback model kpredict gives statsforecast: without it AutoETS stops the whole run
    # on a short CV window ("tiny datasets", M1 yearly)
    sf = StatsForecast(models=[build_model(sp, s.season_length) for sp in s.candidate_specs("smooth")], freq=s.freq, n_jobs=n_jobs,
                       fallback_model=build_model(s.fallback_spec(), s.season_length))
    started = time.perf_counter()
    sf.cross_validation(df=data, h=s.horizon, n_windows=s.cv_windows, step_size=s.step, input_size=s.cv_input_size)
    sf.forecast(df=data if not s.cv_input_size else data.groupby("unique_id").tail(s.cv_input_size), h=s.horizon)
    return ours, time.perf_counter() - started, history["unique_id"].nunique(), int(long_enough.sum())


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], help="a settings override, e.g. selection=ensemble or top_k=2 (JSON values)")
    parser.add_argument("--timing", action="store_true", help="also time the preset against raw StatsForecast on the same pool")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    results = {}
    pd.set_option("display.width", 160)
    for name in args.sets.split(","):
        result = evaluate_set(name, n_jobs=args.n_jobs, **overrides)
        results[name] = result
        print(f"\n== {name}: {result['series']} series ({result['short_series']} short), kpredict {result['seconds']:.0f} s, "
              f"references {result['references_seconds']:.0f} s; most chosen {result['models']}")
        print(result["table"].round(4).to_string())
        if args.timing:
            ours, raw, n_ours, n_raw = raw_pool_seconds(name, n_jobs=args.n_jobs)
            print(f"time: kpredict {ours:.1f} s for {n_ours} series, raw StatsForecast on the same pool {raw:.1f} s for the {n_raw} "
                  f"long enough for every window -> {ours / raw:.2f}x in all, {(ours / n_ours) / (raw / n_raw):.2f}x per series")
    return results


if __name__ == "__main__":
    main()
