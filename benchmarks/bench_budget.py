"""Budget model speed: the optuna search (100 trials, 3 years x 5 channels), the bootstrap refits
(parallel over n_jobs), and the allocation solve (5 channels x 13 weeks), each against the plain
library path on the same data in the same run, plus the allocation's gap to a brute-force grid on
3 channels.

- search: kpredict's trial runs the fitted transformers on arrays; the plain path fits the same
  scikit-learn Pipeline (ColumnTransformer, adstock, Hill, ridge) per fold. The RMSEs must agree.
- bootstrap: the same refits on 1 and on ``--n-jobs`` processes (identical models).
- allocation: kpredict (grid programme + multi-start SLSQP) against one SLSQP run from the equal
  split (what a hand-written optimiser does first): time and the predicted KPI of both.

Usage: python -m benchmarks.bench_budget [--trials 100] [--refits 200] [--n-jobs 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from benchmarks import median_seconds


def _design(weeks: int):

    from kpredict.pipelines.budget import BudgetConfig
    from kpredict.pipelines.budget.data import design

    from kpredict.datasets._sizes import SIZES
    from kpredict.datasets.marketing import generate_marketing

    table = generate_marketing(SIZES["default"], 0)[0]["marketing"].to_pandas().tail(weeks).reset_index(drop=True)
    frame = table.rename(columns=lambda c: c.removeprefix("spend_"))
    config = BudgetConfig(channels={c: c for c in ("tv", "radio", "search", "social", "display")})
    return config, design(config, frame, frame["week"].min()), frame


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--refits", type=int, default=200)
    parser.add_argument("--refit-trials", type=int, default=30)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from kpredict.pipelines.budget.train import folds, media_search

    from kpredict.modeling.allocation import (
        AllocationProblem,
        allocate,
        plan_effects,
        project,
    )
    from kpredict.modeling.media_search import bootstrap_models

    config, d, frame = _design(156)
    search = media_search(config, d)
    search.n_trials = args.trials
    cv = folds(config, len(d.y))
    ours_s = median_seconds(lambda: search.run(d.X, d.y, cv), args.repeats)
    best, study = search.run(d.X, d.y, cv)

    def plain_trial(params) -> float:
        model, squared, count = search.model(params), 0.0, 0
        for train, test in cv:
            model.fit(d.X.iloc[train], d.y[train])
            squared += float(np.sum((model.predict(d.X.iloc[test]) - d.y[test]) ** 2))
            count += len(test)
        return math.sqrt(squared / count)

    sample = [{**search.fixed_params(), **t.params} for t in study.trials[:10]]
    started = time.perf_counter()
    plain = [plain_trial(p) for p in sample]
    plain_per_trial = (time.perf_counter() - started) / len(sample)
    agree = bool(np.allclose(plain, [t.value for t in study.trials[:10]], rtol=1e-9))
    print(
        f"budget search, {len(d.y)} weeks x 5 channels, {args.trials} optuna trials x {len(cv)} folds, median of {args.repeats}: "
        f"kpredict {ours_s:.1f} s; the plain Pipeline fit per fold would take {plain_per_trial * args.trials:.1f} s "
        f"= {plain_per_trial * args.trials / ours_s:.1f}x; same RMSEs: {agree}"
    )

    started = time.perf_counter()
    one = bootstrap_models(search, d.X, d.y, n_boot=args.refits, block=8, n_trials=args.refit_trials, n_jobs=1)
    serial_s = time.perf_counter() - started
    started = time.perf_counter()
    many = bootstrap_models(search, d.X, d.y, n_boot=args.refits, block=8, n_trials=args.refit_trials, n_jobs=args.n_jobs)
    parallel_s = time.perf_counter() - started
    same = all(np.array_equal(a.predict(d.X), b.predict(d.X)) for a, b in zip(one, many, strict=True))
    print(
        f"budget bootstrap, {args.refits} refits x {args.refit_trials} trials: 1 process {serial_s:.1f} s, "
        f"{args.n_jobs} processes {parallel_s:.1f} s = {serial_s / parallel_s:.2f}x; identical models: {same}"
    )

    from scipy.optimize import minimize

    model = search.model(best).fit(d.X, d.y)
    spend = frame[list(config.channels)].to_numpy()
    weekly = float(spend[-13:].mean(axis=0).sum())
    problem = AllocationProblem(weekly * 13, 13, np.zeros(5), np.full(5, np.inf), spend[-13:])
    alloc_s = median_seconds(lambda: allocate(model, problem), args.repeats)
    plan = allocate(model, problem)

    def single_slsqp() -> np.ndarray:
        result = minimize(
            lambda x: -plan_effects(model, problem, x * weekly).sum(), np.full(5, 0.2), method="SLSQP",
            bounds=[(0, 1)] * 5, constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}],
        )
        return project(result.x * weekly, np.zeros(5), np.full(5, weekly), weekly)

    slsqp_s = median_seconds(single_slsqp, args.repeats)
    ours_kpi, slsqp_kpi = plan_effects(model, problem, plan).sum(), plan_effects(model, problem, single_slsqp()).sum()
    print(
        f"budget allocation, 5 channels x 13 weeks, median of {args.repeats}: kpredict {alloc_s:.2f} s (predicted KPI {ours_kpi:,.0f}), "
        f"one SLSQP from the equal split {slsqp_s:.2f} s (KPI {slsqp_kpi:,.0f}) = {alloc_s / slsqp_s:.1f}x the time for {ours_kpi / slsqp_kpi - 1:+.2%} KPI"
    )

    three = search.model(best).set_params(channels=["tv", "radio", "social"]).fit(d.X, d.y)
    small = AllocationProblem(30000.0 * 13, 13, np.zeros(3), np.full(3, np.inf), frame[["tv", "radio", "social"]].to_numpy()[-13:])
    plan3 = allocate(three, small)
    step = 30000.0 / 300
    a, b = np.meshgrid(np.arange(0, 30000.0 + step, step), np.arange(0, 30000.0 + step, step), indexing="ij")
    grid = np.column_stack([a.ravel(), b.ravel(), 30000.0 - a.ravel() - b.ravel()])
    grid = grid[grid[:, 2] >= -1e-9]
    brute = plan_effects(three, small, grid).sum(axis=1).max()
    gap = 1 - plan_effects(three, small, plan3).sum() / brute
    print(f"budget allocation, 3 channels: gap to the best of a {len(grid):,}-point grid {gap:+.4%} (goal <= 0.1 %; negative: better than the grid)")
    return {"search_s": ours_s, "bootstrap_serial_s": serial_s, "bootstrap_parallel_s": parallel_s, "allocation_s": alloc_s, "grid_gap": gap}


if __name__ == "__main__":
    main()
