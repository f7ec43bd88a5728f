"""Budget quality against references computed in the same test: the demo company's true curves,
OLS on the Advertising data, and the generating parameters of PyMC-Marketing's example."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import shared_data

REPO = Path(__file__).resolve().parents[1]


def _marketing_only(tmp_path: Path, size: str = "default", seed: int = 0) -> Path:
    """A data folder with the demo company's weekly marketing, its lift tests and its truth (the rest is not needed)."""
    import pyarrow.parquet as pq

    from kpredict.datasets._sizes import SIZES
    from kpredict.datasets.marketing import generate_marketing

    tables, truth = generate_marketing(SIZES[size], seed)
    (tmp_path / "truth").mkdir(parents=True)
    pq.write_table(tables["marketing"], tmp_path / "marketing.parquet")
    pq.write_table(tables["marketing_lift_tests"], tmp_path / "marketing_lift_tests.parquet")
    (tmp_path / "truth" / "marketing.json").write_text(json.dumps(truth), encoding="utf-8")
    return tmp_path


def _true_contributions(spend: pd.DataFrame, truth: dict) -> dict[str, float]:
    from kpredict.datasets.marketing import hill

    out = {}
    for channel, p in truth["channels"].items():
        x = spend[f"spend_{channel}"].to_numpy()
        adstock, carry = np.empty_like(x), 0.0
        for t, value in enumerate(x):
            carry = value + p["theta"] * carry
            adstock[t] = carry
        out[channel] = float(np.sum(p["beta"] * hill(adstock, p["half_saturation"], p["slope"])))
    return out


def _steady_state_regret(plan: np.ndarray, truth: dict) -> float:
    """Share of the true optimum's gain over the equal split that ``plan`` (weekly spend) misses."""
    from kpredict.pipelines.budget.demo import true_gain_captured

    from kpredict.datasets.marketing import CHANNELS

    return 1 - true_gain_captured(truth, dict(zip(CHANNELS, plan, strict=True)))


def _recommended_steady_split(model, config, spend: pd.DataFrame, truth: dict) -> np.ndarray:
    """The long-run weekly split of the reference budget that the scoring would recommend (its
    bounds, its objective), judged in steady state as the truth's optimum is."""
    from kpredict.pipelines.budget.scoring import allocation_bounds, recommend

    from kpredict.datasets.marketing import CHANNELS
    from kpredict.modeling.allocation import AllocationProblem

    budget = truth["reference_budget"]
    totals = spend[[f"spend_{c}" for c in CHANNELS]].to_numpy().sum(axis=0)
    past = totals / totals.sum() * budget
    lower, upper = allocation_bounds(config, list(CHANNELS), past, totals / totals.sum(), budget, past)
    problem = AllocationProblem(budget, 1, lower, upper, np.zeros((0, 5)), past, steady_state=True)
    return recommend(model, problem, config.allocation)[0]


def _train_on_seed_0(tmp_path: Path, experiments: bool = True):
    """The budget pipeline on the default demo's marketing (seed 0) with the repository config
    (without its lift tests when not ``experiments``); returns the result, carry-over within 0.1
    and contributions covered per channel, and the regret of the split the scoring recommends."""
    import mlflow
    from kpredict.pipelines.budget import PIPELINE

    from kpredict.datasets.marketing import CHANNELS
    from kpredict.scoring.packaging import load_packaged_directory

    data = _marketing_only(tmp_path / "demo")
    truth = json.loads((data / "truth" / "marketing.json").read_text())
    config = PIPELINE.load_config(
        REPO / "configs" / "budget.yaml", data_dir=str(data), features=str(REPO / "configs" / "features.yaml"),
        feature_store_dir=str(tmp_path / "feature_store"),
    )
    if not experiments:
        config = config.model_copy(update={"lift_tests": None})
    result = PIPELINE.train(config)
    m, channels = result.metrics, result.tables["channels"].set_index("channel")
    close = {c: abs(m[f"{c}_decay"] - truth["channels"][c]["theta"]) <= 0.1 for c in CHANNELS}
    spend = pd.read_parquet(data / "marketing.parquet")
    true = _true_contributions(spend, truth)
    covered = {c: channels.loc[c, "contribution_lo"] <= true[c] <= channels.loc[c, "contribution_hi"] for c in CHANNELS}
    model = load_packaged_directory(Path(mlflow.artifacts.download_artifacts(f"models:/kpredict-budget/{result.model_version}")))
    regret = _steady_state_regret(_recommended_steady_split(model, config, spend, truth), truth)
    print(f"carry-over within 0.1: {close}; contributions covered: {covered}; regret {regret:.3f}")
    return result, close, covered, regret


@pytest.mark.slow
def test_on_the_demo_company_the_model_recovers_carry_over_contributions_and_a_better_split(tmp_path):
    """Goals (issue 12): regret <= 2 % of the true optimum's gain over the equal split; carry-over
    within 0.1 of the truth for every channel; 90 % contribution intervals covering the truth for
    4 of 5 channels.

    Reached (default demo, seed 0, the repository config, which calibrates the curves on the demo's
    five lift experiments): regret 0.014, within the goal (0.039 for the split averaged over the
    refits); contributions covered for 5 of 5; carry-over within 0.1 for 4 of 5 (search over; the
    best trial's model: tv only).
    """
    result, close, covered, regret = _train_on_seed_0(tmp_path)
    print(result.tables["lift_tests"])
    assert result.metrics["holdout_r2"] > result.metrics["baseline_holdout_r2"]
    assert regret <= 0.02
    assert sum(covered.values()) >= 5
    assert sum(close.values()) >= 4 and close["tv"]
    assert result.metrics["lift_tests_within_2se"] >= 4


@pytest.mark.slow
def test_without_experiments_the_weekly_series_alone_still_gives_a_better_split(tmp_path):
    """The same without the lift experiments (``lift_tests: null``: a company that has run none).
    Reached: regret 0.040 with the model kept being the one with the bootstrap refits' median
    parameters (0.115 for the split averaged over the refits, 0.126 for the best trial's model,
    0.248 for its split without the share range); carry-over within 0.1 for tv, radio, social and
    display (search over; the best trial's model: 3 of 5); contributions covered for 5 of 5.
    Search is always on and swings with the season, so its effect is confounded with the yearly
    pattern: even with the true carry-over and saturation, least squares puts its
    effect's standard error at 0.5-1x the effect on demo seeds 0-7, so no fit of the weekly
    series alone identifies it; that and the other curves' shapes are what the regret is (the
    allocator itself finds the true optimum given the true curves: test_media_model).
    """
    result, close, covered, regret = _train_on_seed_0(tmp_path, experiments=False)
    assert "lift_tests" not in result.metrics
    assert result.metrics["holdout_r2"] > result.metrics["baseline_holdout_r2"]
    assert sum(covered.values()) >= 5
    assert sum(close.values()) >= 4 and close["tv"]
    assert regret <= 0.045


@pytest.mark.slow
def test_on_demo_seeds_it_was_not_tuned_on_the_split_beats_keeping_the_past_one_and_the_single_models(tmp_path):
    """On demo seeds 1-3 (the repository config, the stored model's search and refits as the
    pipeline runs them, calibrated on each seed's five lift experiments): the recommended split's
    mean regret is 0.085 (seeds 0-7: 0.073). Without the experiments it is 0.113 (seeds 0-7:
    0.083), still below keeping the past split (0.243) and far below that model's unbounded split,
    which extrapolates its curves (0.625; above 1 on seed 3: worse than the equal split)."""
    import pyarrow.parquet as pq
    from kpredict.pipelines.budget import PIPELINE
    from kpredict.pipelines.budget.data import design, load_lift_tests
    from kpredict.pipelines.budget.model import BudgetModel
    from kpredict.pipelines.budget.train import fit_point, folds, media_search

    from kpredict.datasets._sizes import SIZES
    from kpredict.datasets.marketing import CHANNELS, generate_marketing
    from kpredict.modeling.allocation import AllocationProblem, allocate
    from kpredict.modeling.media import lift_experiments

    config = PIPELINE.load_config(REPO / "configs" / "budget.yaml", features=str(REPO / "configs" / "features.yaml"))
    regrets: dict[str, list[float]] = {"recommended": [], "without experiments": [], "past split": [], "single model, no range": []}
    for seed in (1, 2, 3):
        tables, truth = generate_marketing(SIZES["default"], seed)
        spend = tables["marketing"].to_pandas()
        frame = spend.rename(columns={f"spend_{c}": c for c in CHANNELS})
        d = design(config, frame, frame["week"].min())
        lift_file = tmp_path / f"lift_tests_{seed}.parquet"
        pq.write_table(tables["marketing_lift_tests"], lift_file)
        tests = load_lift_tests(config.model_copy(update={"lift_tests": str(lift_file)}), frame)
        b = config.bootstrap
        models = {}
        for name, calibration in (("without experiments", None), ("recommended", lift_experiments(frame[list(CHANNELS)], tests, list(CHANNELS), d.max_lag))):
            search = media_search(config, d, calibration)
            best, _ = search.run(d.X, d.y, folds(config, len(d.y)))
            point, refits, _ = fit_point(config, search, d.X, d.y, best, "on every week")
            models[name] = BudgetModel(point, refits, interval=b.interval)
            regrets[name].append(_steady_state_regret(_recommended_steady_split(models[name], config, spend, truth), truth))
        model = models["without experiments"]
        budget = truth["reference_budget"]
        totals = frame[list(CHANNELS)].to_numpy().sum(axis=0)
        regrets["past split"].append(_steady_state_regret(totals / totals.sum() * budget, truth))
        free = AllocationProblem(budget, 1, np.zeros(5), np.full(5, np.inf), np.zeros((0, 5)), steady_state=True)
        regrets["single model, no range"].append(_steady_state_regret(allocate(model.point, free), truth))
    mean = {name: float(np.mean(values)) for name, values in regrets.items()}
    print({name: np.round(values, 3).tolist() for name, values in regrets.items()}, mean)
    assert mean["without experiments"] < mean["past split"]
    assert mean["without experiments"] < 0.5 * mean["single model, no range"]
    assert mean["without experiments"] <= 0.12
    assert mean["recommended"] < mean["without experiments"]
    assert mean["recommended"] <= 0.09


@pytest.mark.slow
def test_on_the_advertising_data_cross_validated_r2_beats_ols_with_and_without_the_interaction():
    """Goal (issue 12): 10-fold CV R² >= 0.97 and above OLS on the three channels and OLS with a
    TV x Radio interaction on the same folds. The search runs inside each fold (nested)."""
    from sklearn.linear_model import LinearRegression
    from sklearn.metrics import r2_score
    from sklearn.model_selection import KFold

    from kpredict.modeling.allocation import AllocationProblem, allocate
    from kpredict.modeling.media import lag_frame
    from kpredict.modeling.media_search import MediaSearch

    data = pd.read_csv(shared_data("budget/Advertising.csv"), index_col=0)
    channels = ["TV", "Radio", "Newspaper"]
    X, y, raw = lag_frame(data, channels, 0), data["Sales"].to_numpy(), data[channels].to_numpy()
    with_interaction = np.column_stack([raw, raw[:, 0] * raw[:, 1]])
    scores: dict[str, list[float]] = {"kpredict": [], "ols": [], "ols_interaction": []}
    pairs = [("TV", "Radio"), ("TV", "Newspaper"), ("Radio", "Newspaper")]
    for train, test in KFold(10, shuffle=True, random_state=0).split(X):
        search = MediaSearch(channels, 0, candidate_pairs=pairs, n_trials=150, seed=0)
        best, _ = search.run(X.iloc[train], y[train], list(KFold(5, shuffle=True, random_state=0).split(train)))
        scores["kpredict"].append(r2_score(y[test], search.model(best).fit(X.iloc[train], y[train]).predict(X.iloc[test])))
        scores["ols"].append(r2_score(y[test], LinearRegression().fit(raw[train], y[train]).predict(raw[test])))
        scores["ols_interaction"].append(r2_score(y[test], LinearRegression().fit(with_interaction[train], y[train]).predict(with_interaction[test])))
    mean = {name: float(np.mean(values)) for name, values in scores.items()}
    assert mean["kpredict"] >= 0.97
    assert mean["kpredict"] > mean["ols_interaction"] > mean["ols"]

    # the split of the sample's mean total budget, beside the one OLS implies (all to the best coefficient)
    search = MediaSearch(channels, 0, candidate_pairs=pairs, n_trials=150, seed=0)
    best, _ = search.run(X, y, list(KFold(5, shuffle=True, random_state=0).split(X)))
    model = search.model(best).fit(X, y)
    total = float(raw.sum(axis=1).mean())
    plan = allocate(model, AllocationProblem(total, 1, np.zeros(3), np.full(3, np.inf), np.zeros((0, 3))))
    ols = LinearRegression().fit(raw, y)
    ols_plan = np.where(np.arange(3) == np.argmax(ols.coef_), total, 0.0)
    print(f"CV R² {mean}; split of {total:.1f}: kpredict {dict(zip(channels, plan.round(1)))}, OLS {dict(zip(channels, ols_plan.round(1)))}")
    assert plan.sum() == pytest.approx(total) and plan[2] == pytest.approx(0.0, abs=1e-6)  # newspaper earns nothing in either


@pytest.mark.slow
def test_on_pymc_marketings_example_carry_over_is_recovered_under_time_series_cross_validation():
    """Goal (issue 12): x1 and x2 carry-over within 0.1 of the generating 0.4 and 0.2, chosen on
    held-out blocks of weeks (not in-sample). Forward-chaining folds on the last quarters recover
    0.56 and 0.08 on the same data; blocks recover both within 0.02."""
    from kpredict.pipelines.budget import BudgetConfig
    from kpredict.pipelines.budget.data import design
    from kpredict.pipelines.budget.model import BudgetModel
    from kpredict.pipelines.budget.train import fit_point, folds, media_search

    data = pd.read_csv(shared_data("budget/mmm_example.csv"), parse_dates=["date_week"])
    config = BudgetConfig(time_column="date_week", kpi_column="y", channels={"x1": "x1", "x2": "x2"}, controls=["event_1", "event_2"])
    d = design(config, data, data["date_week"].min())
    search = media_search(config, d)
    best, _ = search.run(d.X, d.y, folds(config, len(data)))
    assert abs(best["x1.decay"] - 0.4) <= 0.1 and abs(best["x2.decay"] - 0.2) <= 0.1
    # the model the pipeline keeps: the bootstrap refits' median parameters
    point, refits, kept = fit_point(config, search, d.X, d.y, best, "on every week")
    assert abs(kept["x1.decay"] - 0.4) <= 0.1 and abs(kept["x2.decay"] - 0.2) <= 0.1
    model = BudgetModel(point, refits)
    share = model.contributions(d.X)[0] / model.contributions(d.X)[0].sum()
    print(f"carry-over x1 {best['x1.decay']:.3f}, x2 {best['x2.decay']:.3f} (best trial), {kept['x1.decay']:.3f}, "
          f"{kept['x2.decay']:.3f} (kept); contribution shares x1 {share[0]:.2f}, x2 {share[1]:.2f}")
    assert share[0] > share[1]  # x1's effect (3.0 at saturation) is larger than x2's (2.0)
