"""The media model's transformers and regression, its search, and the budget allocator (bounds,
infeasible requests, properties that hold for any feasible request, the generator's optimum)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kpredict.errors import ConfigError, InfeasibleAllocationError, SchemaError
from kpredict.modeling.allocation import (
    AllocationProblem,
    allocate,
    allocate_cautiously,
    allocate_on_refits,
    plan_effects,
    project,
    refit_totals,
    steady_state_effects,
)
from kpredict.modeling.media import (
    GeometricAdstock,
    HillSaturation,
    MediaMixModel,
    SignConstrainedRidge,
    lag_frame,
    lift_experiments,
)
from kpredict.modeling.media_search import MediaSearch, bootstrap_models, moving_blocks

CHANNELS = ["a", "b", "c"]


def _recursive_adstock(x: np.ndarray, decay: float) -> np.ndarray:
    out, carry = np.empty_like(x), 0.0
    for t, value in enumerate(x):
        carry = value + decay * carry
        out[t] = carry
    return out


def test_carry_over_from_lag_columns_equals_the_running_definition():
    x = np.random.default_rng(0).gamma(2.0, 100.0, 40) * (np.arange(40) % 7 < 4)
    lags = lag_frame(pd.DataFrame({"tv": x}), ["tv"], max_lag=39)
    assert np.allclose(GeometricAdstock(0.6).fit_transform(lags.to_numpy()).ravel(), _recursive_adstock(x, 0.6))
    # with fewer lags the truncation error is at most decay^(max_lag + 1) of the older spend
    short = GeometricAdstock(0.6).fit_transform(lag_frame(pd.DataFrame({"tv": x}), ["tv"], 12).to_numpy()).ravel()
    assert np.max(np.abs(short - _recursive_adstock(x, 0.6))) <= 0.6**13 * x.sum()


def test_hill_is_half_at_the_half_saturation_point_relative_to_the_mean_positive_input():
    values = np.array([[0.0], [100.0], [300.0]])
    hill = HillSaturation(half_saturation=1.5, slope=2.0).fit(values)
    assert hill.scale_ == 200.0
    assert hill.transform(np.array([[300.0]]))[0, 0] == pytest.approx(0.5)
    assert hill.transform(np.array([[0.0]]))[0, 0] == 0.0


def test_lag_frame_refuses_negative_or_missing_spend():
    with pytest.raises(SchemaError, match="'tv' has 1 negative"):
        lag_frame(pd.DataFrame({"tv": [1.0, -2.0]}), ["tv"], 2)
    with pytest.raises(SchemaError, match="'tv' has 1 missing or non-numeric"):
        lag_frame(pd.DataFrame({"tv": [1.0, None]}), ["tv"], 2)
    with pytest.raises(SchemaError, match=r"spend column\(s\) \['radio'\] are missing"):
        lag_frame(pd.DataFrame({"tv": [1.0]}), ["tv", "radio"], 0)


def test_the_ridge_keeps_channel_effects_non_negative_and_leaves_controls_free():
    from scipy.optimize import lsq_linear

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = -2.0 * X[:, 0] + 0.5 * X[:, 1] - 3.0 * X[:, 2] + rng.normal(0, 0.1, 300)  # channel 0 hurts in the data
    ridge = SignConstrainedRidge(alpha=1e-8, n_nonnegative=2).fit(X, y)
    assert ridge.coef_[0] == pytest.approx(0.0, abs=1e-6) and ridge.coef_[1] > 0 and ridge.coef_[2] < -2.5
    # the same optimum as bounded least squares on centred columns
    centred = X - X.mean(axis=0)
    reference = lsq_linear(centred, y - y.mean(), bounds=([0, 0, -np.inf], [np.inf, np.inf, np.inf])).x
    assert np.allclose(ridge.coef_, reference, atol=1e-3)
    assert np.allclose(ridge.predict(X), X @ ridge.coef_ + ridge.intercept_)


def _synthetic(weeks: int = 120, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, dict]:
    rng = np.random.default_rng(seed)
    spend = pd.DataFrame({c: rng.gamma(2.0, 50.0, weeks) * (rng.random(weeks) < 0.7) for c in CHANNELS})
    truth = {"a": (0.5, 2.0, 1.5, 300.0), "b": (0.2, 1.0, 1.0, 150.0), "c": (0.0, 1.0, 2.0, 0.0)}  # decay, half, slope, beta
    kpi = 1000.0 + rng.normal(0, 5.0, weeks)
    for c, (decay, half, slope, beta) in truth.items():
        a = _recursive_adstock(spend[c].to_numpy(), decay)
        kpi += beta * HillSaturation(half, slope).fit(a[:, None]).transform(a[:, None]).ravel()
    return lag_frame(spend, CHANNELS, 8).assign(trend=np.arange(weeks) / 52), kpi, truth


def test_the_search_objective_runs_the_same_steps_as_the_fitted_pipeline():
    X, y, _ = _synthetic()
    search = MediaSearch(CHANNELS, 8, ["trend"], candidate_pairs=[("a", "b")], n_trials=1)
    params = {"alpha": 0.01, "interactions": True, **{f"{c}.{k}": v for c in CHANNELS for k, v in (("decay", 0.3), ("half_saturation", 1.2), ("slope", 1.4))}}
    folds = [(np.arange(0, 80), np.arange(80, 120)), (np.arange(40, 120), np.arange(0, 40))]
    model = search.model(params)
    squared = 0.0
    for train, test in folds:
        model.fit(X.iloc[train], y[train])
        squared += float(np.sum((model.predict(X.iloc[test]) - y[test]) ** 2))
    fast = search.held_out_rmse(params, model.lag_array(X), X[["trend"]].to_numpy(), y, folds)
    assert fast == pytest.approx(math.sqrt(squared / 80), rel=1e-9)


def test_the_search_recovers_a_clear_carry_over_and_contributions_sum_to_the_prediction():
    X, y, truth = _synthetic()
    search = MediaSearch(CHANNELS, 8, ["trend"], n_trials=120, seed=0)
    folds = [(np.setdiff1d(np.arange(120), block), block) for block in np.array_split(np.arange(120), 5)]
    best, _study = search.run(X, y, folds)
    assert abs(best["a.decay"] - truth["a"][0]) < 0.1
    model = search.model(best).fit(X, y)
    parts = model.contributions(X)
    assert np.allclose(parts.sum(axis=1), model.predict(X))
    assert parts["c"].abs().sum() < 0.05 * parts["a"].sum()  # the channel without effect gets (almost) none
    again, _ = search.run(X, y, folds)
    assert again == best  # seeded: the same search twice


def test_the_lightgbm_regression_gives_increasing_separate_curves_that_sum_to_the_prediction(tmp_path):
    """The alternative regression: each channel's effect never falls as its spend rises, the
    contributions add up to the prediction, a channel without effect gets (almost) none, the plan
    still sums to the budget, and the model saves and loads without a foreign type."""
    from kpredict.scoring.kinds import _save_sklearn, load_sklearn

    X, y, _ = _synthetic()
    params = {"alpha": 0.01, **{f"{c}.{k}": v for c in CHANNELS for k, v in (("decay", 0.4), ("half_saturation", 1.5), ("slope", 1.2))}}
    search = MediaSearch(CHANNELS, 8, ["trend"], regression="lightgbm", n_trials=1)
    judged = {regression: MediaSearch(CHANNELS, 8, ["trend"], regression=regression, n_trials=1).held_out_rmse(
        params, search.model(params).lag_array(X), X[["trend"]].to_numpy(), y, [(np.arange(80), np.arange(80, 120))]) for regression in ("ridge", "lightgbm")}
    assert judged["lightgbm"] == judged["ridge"]  # trials are judged with the ridge whatever the stored regression
    model = search.model(params).fit(X, y)
    parts = model.contributions(X)
    assert np.allclose(parts.sum(axis=1), model.predict(X))
    assert parts["c"].abs().sum() < 0.1 * parts["a"].sum()
    grid = np.linspace(0.0, 600.0, 61)
    curves = steady_state_effects(model, np.column_stack([grid, np.full_like(grid, 50.0), np.full_like(grid, 50.0)]))
    assert (np.diff(curves[:, 0]) >= -1e-9).all() and np.ptp(curves[:, 0]) > 0  # channel a rises, never falls
    assert np.allclose(curves[:, 1], curves[0, 1])  # moving a leaves b's curve alone: no tree mixes channels
    problem = AllocationProblem(300.0, 4, np.zeros(3), np.full(3, np.inf), np.zeros((8, 3)))
    plan = allocate(model, problem)
    assert plan.sum() * 4 == pytest.approx(300.0) and (plan >= 0).all()
    _save_sklearn(model, tmp_path)
    assert np.allclose(load_sklearn(tmp_path, {}).predict(X), model.predict(X))
    with pytest.raises(SchemaError, match="synergy"):
        MediaMixModel(channels=CHANNELS, max_lag=8, interactions=[("a", "b")], regression="lightgbm").fit(X, y)


def test_the_kept_parameters_are_the_refits_medians():
    """median_params: per channel the median carry-over, half-saturation and slope, the penalty's
    median on the log scale, synergy terms when most refits have them; a model built from them
    carries those values, and no refits at all is an error."""
    from kpredict.modeling.media_search import median_params

    refits = [
        MediaMixModel(channels=["a", "b"], max_lag=4, decay={"a": d, "b": 0.0}, half_saturation={"a": 1.0, "b": h},
                      slope={"a": s, "b": 1.0}, alpha=alpha, interactions=pairs)
        for d, h, s, alpha, pairs in [(0.1, 0.5, 1.0, 0.01, [("a", "b")]), (0.5, 2.0, 3.0, 1.0, []), (0.3, 1.0, 2.0, 100.0, [("a", "b")])]
    ]
    params = median_params(refits)
    assert params["a.decay"] == pytest.approx(0.3) and params["b.decay"] == 0.0
    assert params["b.half_saturation"] == pytest.approx(1.0) and params["a.slope"] == pytest.approx(2.0)
    assert params["alpha"] == pytest.approx(1.0) and params["interactions"] is True
    kept = MediaSearch(["a", "b"], 4, candidate_pairs=[("a", "b")]).model(params)
    assert kept.decay == {"a": pytest.approx(0.3), "b": 0.0} and kept.interactions == [("a", "b")]
    assert median_params(refits[1:2])["interactions"] is False
    with pytest.raises(ValueError, match="at least one"):
        median_params([])


@pytest.mark.parametrize("steady_state", [False, True])
def test_a_risk_aware_split_does_at_least_as_well_as_the_expected_one_in_the_worse_refits(steady_state):
    """refit_totals (all ridge refits in one array expression) equals the refits one by one; the
    cautious split's low quantile across the refits is never below the expected-KPI split's, nor
    the refits-averaged split's mean."""
    X, y, _ = _synthetic()
    search = MediaSearch(CHANNELS, 8, ["trend"], n_trials=20, seed=0)
    best, _ = search.run(X, y, [(np.arange(90), np.arange(90, 120))])
    point = search.model(best).fit(X, y)
    refits = bootstrap_models(search, X, y, n_boot=12, block=8, n_trials=4)
    history = X[[f"{c}__lag0" for c in CHANNELS]].to_numpy()[-8:]
    problem = AllocationProblem(600.0, 4, np.zeros(3), np.full(3, np.inf), history, steady_state=steady_state)
    plans = np.array([[50.0, 50.0, 50.0], [100.0, 20.0, 30.0]])
    one_by_one = np.array([plan_effects(model, problem, plans).sum(axis=1) for model in refits])
    assert np.allclose(refit_totals(refits, problem, plans), one_by_one, rtol=1e-10)

    def low(plan: np.ndarray) -> float:
        return float(np.quantile(refit_totals(refits, problem, plan)[:, 0], 0.2))

    def average(plan: np.ndarray) -> float:
        return float(refit_totals(refits, problem, plan)[:, 0].mean())

    expected, cautious = allocate(point, problem), allocate_cautiously(point, refits, problem, 0.2)
    assert cautious.sum() * 4 == pytest.approx(600.0) and (cautious >= 0).all()
    assert low(cautious) >= low(expected) - 1e-9
    averaged = allocate_on_refits(point, refits, problem)  # the refits' mean: never below the single model's split on it
    assert averaged.sum() * 4 == pytest.approx(600.0) and (averaged >= 0).all()
    assert average(averaged) >= average(expected) - 1e-9
    with pytest.raises(ConfigError, match="refits"):
        allocate_on_refits(point, [], problem)
    with pytest.raises(ConfigError, match="risk quantile"):
        allocate_cautiously(point, refits, problem, 0.8)
    with pytest.raises(ConfigError, match="refits"):
        allocate_cautiously(point, [], problem, 0.1)


def test_a_measured_lift_recovers_the_effect_of_a_channel_that_moves_with_the_season():
    """Search is always on and swings with the season: the weeks alone cannot tell its effect from
    the season's. One experiment (+50 % spend for four weeks, its lift measured with a 5 % standard
    error) pins it: the calibrated ridge recovers the channel's contribution, the plain one does not."""
    rng = np.random.default_rng(1)
    weeks = 156
    season = np.cos(2 * np.pi * np.arange(weeks) / 52)
    spend = pd.DataFrame({"search": 100.0 * (1 + 0.3 * season) * rng.lognormal(0, 0.02, weeks), "tv": rng.gamma(2.0, 50.0, weeks) * (rng.random(weeks) < 0.6)})
    truth = {"search": (0.2, 1.0, 1.2, 300.0), "tv": (0.5, 1.0, 1.5, 200.0)}  # decay, half, slope, beta

    def media(frame: pd.DataFrame, channel: str) -> np.ndarray:
        decay, half, slope, beta = truth[channel]
        fitted = HillSaturation(half, slope).fit(_recursive_adstock(spend[channel].to_numpy(), decay)[:, None])  # scale from the observed weeks
        return beta * fitted.transform(_recursive_adstock(frame[channel].to_numpy(), decay)[:, None]).ravel()

    kpi = 1000.0 + 150.0 * season + media(spend, "search") + media(spend, "tv") + rng.normal(0, 10.0, weeks)
    X = lag_frame(spend, ["search", "tv"], 8).assign(season=season)
    changed = spend.copy()
    changed.loc[100:103, "search"] += 50.0
    lift = float((media(changed, "search") - media(spend, "search"))[100:112].sum())
    tests = pd.DataFrame({"channel": ["search"], "start": [100], "end": [103], "spend_change": [50.0], "lift": [lift], "lift_se": [0.05 * lift]})
    shape = {"decay": {c: truth[c][0] for c in truth}, "half_saturation": {c: truth[c][1] for c in truth}, "slope": {c: truth[c][2] for c in truth}}
    true_total = media(spend, "search").sum()
    plain = MediaMixModel(channels=["search", "tv"], max_lag=8, controls=["season"], alpha=1e-4, **shape).fit(X, kpi)
    calibration = lift_experiments(spend, tests, ["search", "tv"], 8)
    calibrated = MediaMixModel(channels=["search", "tv"], max_lag=8, controls=["season"], alpha=1e-4, calibration=calibration, **shape).fit(X, kpi)
    error = {name: abs(model.contributions(X)["search"].sum() / true_total - 1) for name, model in (("plain", plain), ("calibrated", calibrated))}
    assert error["calibrated"] < 0.1 < error["plain"], error
    assert np.allclose(calibrated.contributions(X).sum(axis=1), calibrated.predict(X))
    # the search's objective learns from the same experiment
    search = MediaSearch(["search", "tv"], 8, ["season"], n_trials=1, calibration=calibration)
    params = {"alpha": 1e-4, **{f"{c}.{k}": v for c in truth for k, v in zip(("decay", "half_saturation", "slope"), truth[c][:3], strict=False)}}
    train, test = np.arange(0, 120), np.arange(120, 156)
    fold_model = MediaMixModel(channels=["search", "tv"], max_lag=8, controls=["season"], alpha=1e-4, calibration=calibration, **shape).fit(X.iloc[train], kpi[train])
    # held-out weeks, and each experiment's miss in units of its standard error times the weeks' residual sd
    missed = (fold_model.predicted_lifts() - calibration["lift"]) * fold_model.regression_.lift_weight_
    squared = float(np.sum((fold_model.predict(X.iloc[test]) - kpi[test]) ** 2)) + float(np.sum(missed**2))
    expected = math.sqrt(squared / (len(test) + len(missed)))
    assert calibrated.predicted_lifts() == pytest.approx([lift], rel=0.1)
    assert len(plain.predicted_lifts()) == 0
    assert search.held_out_rmse(params, calibrated.lag_array(X), X[["season"]].to_numpy(), kpi, [(train, test)]) == pytest.approx(expected, rel=1e-9)
    with pytest.raises(SchemaError, match=r"unknown channel\(s\) \['radio'\]"):
        lift_experiments(spend, tests.assign(channel="radio"), ["search", "tv"], 8)
    with pytest.raises(SchemaError, match="standard error > 0"):
        lift_experiments(spend, tests.assign(lift_se=0.0), ["search", "tv"], 8)
    with pytest.raises(SchemaError, match="start <= end"):
        lift_experiments(spend, tests.assign(end=400), ["search", "tv"], 8)
    with pytest.raises(SchemaError, match="measured_from <= measured_to"):
        lift_experiments(spend, tests.assign(measured_from=110, measured_to=105), ["search", "tv"], 8)
    with pytest.raises(SchemaError, match="ridge without synergy"):
        MediaMixModel(channels=["search", "tv"], max_lag=8, regression="lightgbm", calibration=calibration, **shape).fit(X, kpi)


def test_bootstrap_refits_do_not_depend_on_the_number_of_processes():
    X, y, _ = _synthetic(weeks=80)
    search = MediaSearch(CHANNELS, 8, ["trend"], n_trials=5, seed=3)
    one = bootstrap_models(search, X, y, n_boot=3, block=8, n_trials=4, n_jobs=1)
    two = bootstrap_models(search, X, y, n_boot=3, block=8, n_trials=4, n_jobs=2)
    assert [m.predict(X).tolist() for m in one] == [m.predict(X).tolist() for m in two]
    blocks = moving_blocks(80, 8, np.random.default_rng(0))
    assert len(blocks) == 80 and (np.diff(blocks.reshape(10, 8), axis=1) == 1).all()


# ------------------------------------------------------------------------------------ allocation


def _model(coefs: list[float], decays: list[float], slopes: list[float], halves: list[float]) -> MediaMixModel:
    """A media model over three channels with given shapes and effects (fitted, then set)."""
    X, y, _ = _synthetic(weeks=60)
    lags = X.drop(columns="trend")
    model = MediaMixModel(
        CHANNELS, max_lag=8, decay=dict(zip(CHANNELS, decays, strict=True)), half_saturation=dict(zip(CHANNELS, halves, strict=True)),
        slope=dict(zip(CHANNELS, slopes, strict=True)), alpha=1.0,
    ).fit(lags, y)
    model.regression_.coef_ = np.asarray(coefs, dtype=np.float64)
    return model


def _problem(budget: float, weeks: int = 4, lower=(0, 0, 0), upper=(np.inf,) * 3) -> AllocationProblem:
    history = np.full((8, 3), 80.0)
    return AllocationProblem(budget, weeks, np.asarray(lower, dtype=float), np.asarray(upper, dtype=float), history)


shapes = st.tuples(
    st.lists(st.floats(0.0, 500.0), min_size=3, max_size=3),
    st.lists(st.floats(0.0, 0.7), min_size=3, max_size=3),
    st.lists(st.floats(0.6, 3.0), min_size=3, max_size=3),
    st.lists(st.floats(0.3, 3.0), min_size=3, max_size=3),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes, budget=st.floats(50.0, 5000.0), low=st.lists(st.floats(0.0, 60.0), min_size=3, max_size=3),
       width=st.lists(st.floats(10.0, 2000.0), min_size=3, max_size=3))
def test_any_feasible_allocation_sums_to_the_budget_respects_bounds_and_beats_an_equal_split(shape, budget, low, width):
    model = _model(*shape)
    lower, upper = np.asarray(low), np.asarray(low) + np.asarray(width)
    weeks = 4
    problem = _problem(budget, weeks, lower, upper)
    if lower.sum() > budget / weeks or upper.sum() < budget / weeks:
        with pytest.raises(InfeasibleAllocationError):
            allocate(model, problem, grid_points=60, starts=2)
        return
    plan = allocate(model, problem, grid_points=60, starts=2)
    assert plan.sum() == pytest.approx(budget / weeks, rel=1e-9)
    assert (plan >= lower - 1e-9).all() and (plan <= upper + 1e-9).all()
    equal = project(np.full(3, budget / weeks / 3), lower, upper, budget / weeks)
    value = plan_effects(model, problem, plan).sum()
    assert value >= plan_effects(model, problem, equal).sum() - 1e-9 * max(abs(value), 1.0)
    more = allocate(model, _problem(budget * 1.5, weeks, lower, upper * 1.5), grid_points=60, starts=2)
    assert plan_effects(model, _problem(budget * 1.5, weeks, lower, upper * 1.5), more).sum() >= value - 1e-6 * max(abs(value), 1.0)
    assert np.array_equal(plan, allocate(model, problem, grid_points=60, starts=2))  # same inputs, same plan


@settings(max_examples=15, deadline=None)
@given(shape=shapes, budget=st.floats(100.0, 3000.0), minimum=st.floats(0.0, 20.0))
def test_a_channel_without_effect_gets_its_minimum(shape, budget, minimum):
    coefs = list(shape[0])
    coefs[1] = 0.0
    assume(coefs[0] + coefs[2] > 0)  # with no channel that works, any split is as good
    model = _model(coefs, *shape[1:])
    plan = allocate(model, _problem(budget, 4, lower=(0, minimum, 0)), grid_points=60, starts=2)
    assert plan[1] == pytest.approx(minimum, abs=1e-9)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes, budget=st.floats(100.0, 3000.0), minimum=st.floats(0.0, 20.0), spread=st.floats(0.0, 0.8))
def test_the_split_averaged_over_refits_keeps_the_budget_the_bounds_and_gives_a_channel_without_effect_its_minimum(shape, budget, minimum, spread):
    """The budget scoring's averaged objective (allocate_on_refits, `average_refits: true`) keeps the allocator's
    promises: sums to the budget within the bounds, at least the equal split's average, more
    budget never less, and a channel no refit gives an effect gets its minimum."""
    coefs = np.asarray(shape[0], dtype=np.float64)
    coefs[1] = 0.0
    assume(coefs[0] + coefs[2] > 0)
    refits = [_model(list(coefs * factor), *shape[1:]) for factor in (1 - spread, 1.0, 1 + spread)]
    problem = _problem(budget, 4, lower=(0, minimum, 0))
    weekly = budget / 4

    def average(plan: np.ndarray, p: AllocationProblem = problem) -> float:
        return float(refit_totals(refits, p, plan)[:, 0].mean())

    plan = allocate_on_refits(refits[1], refits, problem, seed=0)
    assert plan.sum() == pytest.approx(weekly, rel=1e-9) and (plan >= np.array([0, minimum, 0]) - 1e-9).all()
    assert plan[1] == pytest.approx(minimum, abs=1e-9)
    equal = project(np.full(3, weekly / 3), np.array([0, minimum, 0.0]), np.full(3, weekly), weekly)
    assert average(plan) >= average(equal) - 1e-9 * max(abs(average(plan)), 1.0)
    bigger = _problem(budget * 1.5, 4, lower=(0, minimum, 0))
    more = allocate_on_refits(refits[1], refits, bigger, seed=0)
    assert average(more, bigger) >= average(plan) - 1e-6 * max(abs(average(plan)), 1.0)


def test_impossible_requests_name_the_problem():
    model = _model([300.0, 150.0, 100.0], [0.3] * 3, [1.0] * 3, [1.0] * 3)
    with pytest.raises(InfeasibleAllocationError, match=r"need 1,200.00 over 4 week\(s\), 800.00 more than the budget of 400.00"):
        allocate(model, _problem(400.0, 4, lower=(100, 100, 100)))
    with pytest.raises(InfeasibleAllocationError, match="maximums allow 120.00 .* 280.00 less than the budget"):
        allocate(model, _problem(400.0, 4, upper=(10, 10, 10)))
    for budget in (0.0, -5.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="budget must be a positive amount"):
            allocate(model, _problem(budget))
    with pytest.raises(ConfigError, match=r"channel\(s\) \['b'\] have a weekly minimum above their maximum"):
        allocate(model, _problem(400.0, 4, lower=(0, 50, 0), upper=(100, 20, 100)))
    assert InfeasibleAllocationError.exit_code == 4 and ConfigError.exit_code == 2


def test_the_allocator_finds_a_brute_force_grid_optimum_on_three_channels():
    model = _model([300.0, 200.0, 120.0], [0.5, 0.2, 0.1], [2.5, 1.0, 1.5], [1.5, 0.8, 1.0])
    problem = _problem(1200.0, weeks=4)
    plan = allocate(model, problem)
    weekly, step = 300.0, 1.0
    a, b = np.meshgrid(np.arange(0, weekly + step, step), np.arange(0, weekly + step, step), indexing="ij")
    grid = np.column_stack([a.ravel(), b.ravel(), weekly - a.ravel() - b.ravel()])
    grid = grid[grid[:, 2] >= 0]
    best = plan_effects(model, problem, grid).sum(axis=1).max()
    assert plan_effects(model, problem, plan).sum() >= best * (1 - 1e-3)


def test_given_the_true_curves_the_allocator_finds_the_generators_optimum(small_demo):
    """With the demo generator's own carry-over, saturation and effects set into the model, the
    recommended steady-state split is the truth file's optimum (what the pipeline's regret goal
    measures against)."""
    from kpredict.datasets.marketing import CHANNELS as DEMO_CHANNELS
    from kpredict.datasets.marketing import steady_state_response

    truth = json.loads((small_demo / "truth" / "marketing.json").read_text())
    spend = pd.read_parquet(small_demo / "marketing.parquet").rename(columns=lambda c: c.removeprefix("spend_"))
    params = truth["channels"]
    model = MediaMixModel(list(DEMO_CHANNELS), max_lag=40, decay={c: params[c]["theta"] for c in DEMO_CHANNELS}).fit(
        lag_frame(spend, DEMO_CHANNELS, 40), spend["kpi"]
    )
    for c in DEMO_CHANNELS:
        hill = model.channel_steps(c).named_steps["saturation"]
        hill.half_saturation = params[c]["half_saturation"] / hill.scale_
        hill.slope = params[c]["slope"]
    model.regression_.coef_ = np.array([params[c]["beta"] for c in DEMO_CHANNELS])
    budget = truth["reference_budget"]
    assert np.allclose(steady_state_effects(model, np.full(5, budget / 5)).sum(), truth["equal_split_response"])
    problem = AllocationProblem(budget, 1, np.zeros(5), np.full(5, np.inf), np.zeros((0, 5)), steady_state=True)
    plan = allocate(model, problem)
    gained = steady_state_response(plan, params) - truth["equal_split_response"]
    assert gained >= 0.995 * (truth["optimal_response"] - truth["equal_split_response"])
