"""MLflow overhead of one training run, beyond the model's own fit.

Runs a small LightGBM fit (10,000 rows) a few times, alone and inside the full tracked path:
``training_run`` (config, tags, hashes, environment, dataset) + metrics + a PNG figure +
``mlflow.lightgbm.log_model`` with explicit pip requirements and a signature + ``register``.
Reports the median of (tracked - fit) over the repeats, the ratio, and where the time goes.

Usage::

    .venv/bin/python benchmarks/bench_tracking.py [--repeats 5] [--rows 10000] [--variants]

``--variants`` also times what we avoid: MLflow's pip requirement inference, an input example
(MLflow then loads the model again to validate a serving input), and MLflow's own schema
inference of the dataset.
The store is a temporary sqlite db; nothing is written under models/.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PARAMS = {
    "objective": "binary",
    "learning_rate": 0.1,
    "num_leaves": 31,
    "seed": 0,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 1,  # steadier timings on a shared 2-core machine
    "verbose": -1,
}
ROUNDS = 100


class Timer:
    """Wall-clock seconds per named step, summed within one repeat."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] += time.perf_counter() - start


def make_data(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 10)), columns=[f"x{i}" for i in range(10)])
    frame["plan"] = rng.choice(["basic", "pro", "team"], rows)
    frame["customer_id"] = np.arange(rows)
    logit = frame["x0"] - 0.5 * frame["x1"] + 0.25 * frame["x2"] * frame["x3"]
    frame["churned"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[f"x{i}" for i in range(10)]]


def fit(frame: pd.DataFrame):
    import lightgbm as lgb

    return lgb.train(PARAMS, lgb.Dataset(features(frame), frame["churned"]), num_boost_round=ROUNDS)


def tracked(
    frame: pd.DataFrame,
    timer: Timer,
    *,
    explicit_requirements: bool = True,
    input_example: bool = False,
) -> int:
    """The full tracked training path; returns the registered version."""
    import matplotlib.pyplot as plt
    import mlflow
    from mlflow.models import infer_signature

    from kpredict.tracking import pip_requirements, register, training_run

    config = {"model": PARAMS, "rounds": ROUNDS, "split": {"holdout_fraction": 0.2}}
    with timer.step("start run (config, tags, hashes, env, dataset)"):
        context = training_run("churn", config, seed=0, inputs={"train": frame})
        run = context.__enter__()
    try:
        with timer.step("fit"):
            booster = fit(frame)
        with timer.step("log metrics"):
            run.log_metrics({"train.logloss": 0.5, "holdout.auc": 0.75})
        with timer.step("figure (draw + PNG)"):
            fig, ax = plt.subplots(figsize=(5, 4))
            ax.barh(booster.feature_name(), booster.feature_importance("gain"))
            run.log_figure(fig, "plots/importance.png")
            plt.close(fig)
        X = features(frame)
        with timer.step("log model"):
            requirements = pip_requirements(["lightgbm", "pandas", "numpy"])
            info = mlflow.lightgbm.log_model(
                booster,
                name="model",
                signature=infer_signature(X.head(100), booster.predict(X.head(100))),
                input_example=X.head(5) if input_example else None,
                pip_requirements=requirements if explicit_requirements else None,
            )
    except BaseException:
        context.__exit__(*sys.exc_info())
        raise
    with timer.step("end run"):
        context.__exit__(None, None, None)
    with timer.step("register"):
        return register(
            run.run_id,
            info.model_uri,
            "churn",
            metric_name="auc",
            metric_value=0.75,
            greater_is_better=True,
            holdout_hash="bench",
        )


def measure(frame: pd.DataFrame, repeats: int, **options: bool) -> dict[str, object]:
    """Median timings over ``repeats`` pairs of (fit alone, tracked path)."""
    fits, totals, overheads, non_fit = [], [], [], []
    steps: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeats):
        start = time.perf_counter()
        fit(frame)
        fit_s = time.perf_counter() - start

        timer = Timer()
        start = time.perf_counter()
        tracked(frame, timer, **options)
        total_s = time.perf_counter() - start

        fits.append(fit_s)
        totals.append(total_s)
        overheads.append(total_s - fit_s)
        non_fit.append(total_s - timer.steps["fit"])
        for name, seconds in timer.steps.items():
            steps[name].append(seconds)
    return {
        "fit": statistics.median(fits),
        "tracked": statistics.median(totals),
        "overhead": statistics.median(overheads),
        "overheads": overheads,
        "non_fit": statistics.median(non_fit),
        "steps": {name: statistics.median(values) for name, values in steps.items()},
    }


def report(title: str, result: dict[str, object]) -> None:
    fit_s = result["fit"]
    print(f"\n== {title}")
    print(f"(a) fit alone, median                   {fit_s:8.3f} s")
    print(f"(b) tracked path incl. fit, median      {result['tracked']:8.3f} s")
    print(f"overhead = median of (b - a)            {result['overhead']:8.3f} s")
    print(f"ratio median(b) / median(a)             {result['tracked'] / fit_s:8.2f}x")
    print(f"time in (b) outside its fit, median     {result['non_fit']:8.3f} s")
    per_repeat = ", ".join(f"{v:.3f}" for v in result["overheads"])
    print(f"(b - a) per repeat                      {per_repeat}")
    print("steps of (b), median seconds:")
    for name, seconds in result["steps"].items():
        print(f"  {name:<50} {seconds:7.3f}")


def dataset_schema_cost(rows: int) -> None:
    """Our dataset path vs MLflow's own schema inference, on a larger frame."""
    import mlflow.data

    from kpredict.tracking.run import _dataset

    frame = make_data(rows)
    start = time.perf_counter()
    _dataset(frame, "train", "0" * 64)._to_mlflow_entity()
    ours = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.data.from_pandas(frame, name="train")._to_mlflow_entity()
    theirs = time.perf_counter() - start
    print(f"\n== dataset logged for {rows:,} rows x {frame.shape[1]} columns")
    print(f"kpredict (vectorised missing-value check)  {ours:7.3f} s")
    print(f"mlflow.data.from_pandas inference          {theirs:7.3f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--variants", action="store_true", help="also time what we avoid")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning)

    with tempfile.TemporaryDirectory(prefix="kpredict-bench-") as tmp, open(
        os.devnull, "w"
    ) as sink:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp}/mlflow.db"
        frame = make_data(args.rows)

        start = time.perf_counter()
        with contextlib.redirect_stderr(sink):  # MLflow prints a line per registration
            tracked(frame, Timer())  # creates the store and imports everything once
        cold = time.perf_counter() - start
        print(f"cold start (imports, store creation, first run): {cold:.2f} s")
        with contextlib.redirect_stderr(sink):
            result = measure(frame, args.repeats)
        report(f"default path, {args.rows:,} rows, {args.repeats} repeats", result)
        goal = "met" if result["overhead"] < 1.0 else "NOT met"
        print(f"\ngoal overhead < 1 s: {goal}")

        if args.variants:
            with contextlib.redirect_stderr(sink):
                inferred = measure(frame, 3, explicit_requirements=False)
                example = measure(frame, 3, input_example=True)
            report("variant: MLflow infers pip requirements (3 repeats)", inferred)
            report("variant: with an input example, serving-input check (3 repeats)", example)
            dataset_schema_cost(1_000_000)


if __name__ == "__main__":
    main()
