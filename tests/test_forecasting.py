"""The forecasting engine: input rules, demand classes, per-series choice, intervals, storage, Dask."""

from __future__ import annotations

import json
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpredict.errors import ConfigError, SchemaError
from kpredict.forecasting import Forecaster, ForecasterSettings, demand_class, forecast_metrics, prepare_series
from kpredict.forecasting.intervals import conformal_quantiles
from kpredict.forecasting.models import ModelSpec, build_model


def _frame(series: dict[str, np.ndarray], freq: str = "D", start: str = "2024-01-01") -> pd.DataFrame:
    return pd.concat(
        [pd.DataFrame({"unique_id": uid, "ds": pd.date_range(start, periods=len(y), freq=freq), "y": y}) for uid, y in series.items()],
        ignore_index=True,
    )


def _settings(**overrides) -> ForecasterSettings:
    base = dict(
        freq="D", season_length=7, horizon=7, models=[{"model": "AutoETS", "params": {"model": "ANA"}}],
        baselines=[{"model": "SeasonalNaive"}, {"model": "Naive"}], cv_windows=3, selection="best", top_k=1,
    )
    return ForecasterSettings(**(base | overrides))


# ------------------------------------------------------------------------------------ input rules
def test_duplicates_name_up_to_five_series():
    df = _frame({f"s{i}": np.arange(10.0) for i in range(8)})
    df = pd.concat([df, df[df["ds"] == df["ds"].min()]])
    with pytest.raises(SchemaError) as err:
        prepare_series(df, freq="D")
    message = str(err.value)
    assert "'s0'" in message and "and 3 more" in message and "'s7'" not in message


def test_gaps_are_an_error_unless_a_fill_policy_is_set():
    df = _frame({"a": np.arange(10.0), "b": np.arange(10.0)})
    gapped = df.drop(index=[3, 4])
    with pytest.raises(SchemaError, match="missing periods.*'a'"):
        prepare_series(gapped, freq="D")
    filled = prepare_series(gapped, freq="D", gaps="zero")
    assert len(filled) == 20 and filled.loc[(filled.unique_id == "a") & (filled.ds == "2024-01-04"), "y"].item() == 0
    interpolated = prepare_series(gapped, freq="D", gaps="nan", missing_target="interpolate")
    assert interpolated.loc[(interpolated.unique_id == "a") & (interpolated.ds == "2024-01-04"), "y"].item() == pytest.approx(3.0)


def test_nan_targets_are_an_error_unless_an_imputation_policy_is_set():
    df = _frame({"a": np.array([1.0, np.nan, 3.0, 4.0])})
    with pytest.raises(SchemaError, match="missing value.*'a'"):
        prepare_series(df, freq="D")
    assert prepare_series(df, freq="D", missing_target="zero")["y"].tolist() == [1.0, 0.0, 3.0, 4.0]
    assert prepare_series(df, freq="D", missing_target="interpolate")["y"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_bad_columns_and_dates_are_named():
    df = _frame({"a": np.arange(5.0)})
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['y'\]"):
        prepare_series(df.drop(columns="y"), freq="D")
    with pytest.raises(SchemaError, match="not on the frequency 'MS'"):
        prepare_series(df, freq="MS")
    text = df.assign(y=df["y"].astype(str))
    assert prepare_series(text, freq="D")["y"].dtype == np.float64  # numbers as text that parse are fine
    with pytest.raises(SchemaError, match="'y' must be numeric"):
        prepare_series(df.assign(y=["1", "2", "x", "4", "5"]), freq="D")
    with pytest.raises(SchemaError, match="±inf"):
        prepare_series(df.assign(y=[1, 2, np.inf, 4, 5]), freq="D")


def test_unsorted_input_gives_the_same_frame():
    df = _frame({"b": np.arange(6.0), "a": np.arange(6.0) * 2})
    pd.testing.assert_frame_equal(prepare_series(df, freq="D"), prepare_series(df.sample(frac=1, random_state=1), freq="D"))


# ---------------------------------------------------------------------------------- demand classes
def test_demand_classes_follow_adi_and_cv2():
    rng = np.random.default_rng(0)
    smooth = rng.poisson(50, 200).astype(float)
    erratic = rng.choice([1.0, 100.0], 200)
    intermittent = np.where(np.arange(200) % 4 == 0, 5.0, 0.0)
    lumpy = np.where(np.arange(200) % 4 == 0, rng.choice([1.0, 60.0], 200), 0.0)
    classes = demand_class(_frame({"s": smooth, "e": erratic, "i": intermittent, "l": lumpy}))
    assert classes.to_dict() == {"e": "erratic", "i": "intermittent", "l": "lumpy", "s": "smooth"}


# ---------------------------------------------------------------------------------- model specs
def test_only_listed_models_can_be_named_and_arguments_are_checked():
    with pytest.raises(ConfigError, match="unknown forecasting model 'os.system'"):
        ModelSpec.parse("os.system")
    with pytest.raises(ConfigError, match="does not take argument"):
        build_model(ModelSpec.parse({"model": "Naive", "params": {"season_length": 3, "bogus": 1}}), 7)
    assert build_model(ModelSpec.parse({"model": "AutoETS", "alias": "ETS"}), 12).season_length == 12
    with pytest.raises(ConfigError, match="reserved"):
        _settings(models=[{"model": "Naive", "alias": "LightGBM"}])


# ------------------------------------------------------------------------- choice and intervals
@pytest.fixture(scope="module")
def fitted():
    """Seasonal series (SeasonalNaive is near-perfect), random walks (Naive wins), short ones, intermittent."""
    rng = np.random.default_rng(1)
    n = 120
    pattern = np.tile([10.0, 12, 15, 30, 22, 8, 5], n // 7 + 1)[:n]
    series = {f"seasonal{i}": pattern * (i + 1) + rng.normal(0, 0.05, n) for i in range(4)}
    series |= {f"walk{i}": 100 + np.cumsum(rng.normal(0, 5, n)) for i in range(4)}
    series |= {"short": np.array([3.0, 4, 5, 4, 3]), "tiny": np.array([7.0, 8.0])}
    series |= {f"sparse{i}": np.where(rng.random(n) < 0.15, rng.integers(1, 5, n), 0).astype(float) for i in range(3)}
    df = prepare_series(_frame(series), freq="D")
    model = Forecaster(_settings(intermittent_models=[{"model": "CrostonSBA"}, {"model": "TSB"}])).fit(df)
    return df, model


def test_each_series_gets_the_model_that_cross_validates_best(fitted):
    _, model = fitted
    chosen = model.selection_.set_index("unique_id")["model"]
    assert all(chosen[f"seasonal{i}"] in ("SeasonalNaive", "AutoETS") for i in range(4))
    assert all(chosen[f"walk{i}"] in ("Naive", "AutoETS") for i in range(4))
    assert sum(chosen[f"walk{i}"] == "SeasonalNaive" for i in range(4)) == 0
    assert model.selection_.set_index("unique_id").loc["sparse0", "demand_class"] in ("intermittent", "lumpy")
    cv = model.cv_scores_
    assert cv.loc["seasonal0", "SeasonalNaive"] < cv.loc["seasonal0", "Naive"] / 5


def test_short_series_get_models_that_need_little_history_recorded_and_every_series_h_rows(fitted):
    df, model = fitted
    selection = model.selection_.set_index("unique_id")
    for uid in ("short", "tiny"):  # 5 and 2 days, where cross-validation needs 14 + 7
        assert selection.loc[uid, "model"] == "AutoETS+AutoTheta" and "short history" in selection.loc[uid, "chosen_by"]
    assert selection.loc["short", "interval_group"] == "short"
    out = model.predict(df)
    assert out.groupby("unique_id").size().eq(7).all() and set(out["unique_id"]) == set(df["unique_id"])
    assert np.isfinite(out.drop(columns=["unique_id", "ds", "model"]).to_numpy()).all()
    last = df.groupby("unique_id")["ds"].max()
    first = out.groupby("unique_id")["ds"].min()
    assert (first == last + pd.Timedelta(days=1)).all()
    assert (out["yhat_lo_95"] <= out["yhat_lo_80"]).all() and (out["yhat_lo_80"] <= out["yhat"]).all()
    assert (out["yhat"] <= out["yhat_hi_80"]).all() and (out["yhat_hi_80"] <= out["yhat_hi_95"]).all()


def test_short_series_are_warned_about_and_widths_come_from_their_own_short_windows(caplog):
    """A launch-year catalogue: most series have 3 years, some only 1-1.5 (too short for the
    seasonal CV); they are counted in a warning, get ETS + Theta, and intervals from their own
    windows (4 periods to fit on), which are wider than the long series' here."""
    rng = np.random.default_rng(2)
    long = {f"long{i}": 100 + 10 * np.sin(np.arange(36) * np.pi / 6) + rng.normal(0, 1, 36) for i in range(6)}
    short = {f"new{i}": 100 + np.cumsum(rng.normal(0, 6, 12 + i)) for i in range(6)}
    df = prepare_series(_frame(long | short, freq="MS"), freq="MS")
    settings = _settings(freq="MS", season_length=12, horizon=3, cv_step=3)
    with caplog.at_level("WARNING", logger="kpredict.forecasting.forecaster"):
        model = Forecaster(settings).fit(df)
    assert "6 series are too short to cross-validate (fewer than 27 periods)" in caplog.text
    selection = model.selection_.set_index("unique_id")
    assert (selection.loc[list(short), "interval_group"] == "short").all()
    assert (selection.loc[list(long), "chosen_by"] == "cross-validation").all()
    assert model.quantiles_["short"]["80"][0] > model.quantiles_["regular"]["80"][0]
    out = model.predict(df).set_index("unique_id")
    width = (out["yhat_hi_80"] - out["yhat_lo_80"]).groupby(level=0).mean()
    assert width[list(short)].min() > 0 and np.isfinite(out.loc[list(short), "yhat"]).all()

    fallback_only = Forecaster(_settings(freq="MS", season_length=12, horizon=3, cv_step=3, short_models=[])).fit(df)
    assert (fallback_only.selection_.set_index("unique_id").loc[list(short), "model"] == "Naive").all()


def test_artifacts_are_text_and_reload_to_identical_forecasts(fitted, tmp_path):
    df, model = fitted
    model.to_artifacts(tmp_path)
    for path in tmp_path.iterdir():
        path.read_text(encoding="utf-8")  # JSON / CSV / text only: nothing to unpickle
    again = Forecaster.from_artifacts(tmp_path)
    pd.testing.assert_frame_equal(model.predict(df), again.predict(df))
    assert json.loads((tmp_path / "forecaster.json").read_text())["settings"]["horizon"] == 7


def test_a_combination_is_scored_as_it_is_applied_when_a_member_cannot_forecast_a_series():
    from kpredict.forecasting.selection import WINDOW, choose, subset_window_errors

    # the global model could not forecast series "b" (too short): {A, G} then means A alone there
    cv = pd.DataFrame({"unique_id": ["a", "a", "b", "b"], WINDOW: [0, 1, 0, 1], "y": [10.0, 10, 10, 10],
                       "A": [12.0, 12, 11, 11], "G": [8.0, 9, np.nan, np.nan]})
    scale = pd.Series({"a": 1.0, "b": 1.0})
    subsets = subset_window_errors(cv, ["A", "G"], scale, k=2).groupby(level="unique_id").mean()
    assert subsets.loc["b", "A+G"] == subsets.loc["b", "A"] == 1.0
    assert subsets.loc["a", "A+G"] == pytest.approx(0.25)
    scores = pd.DataFrame({"A": [2.0, 1.0], "G": [1.5, np.nan]}, index=pd.Index(["a", "b"], name="unique_id"))
    choice = choose(scores, "combination", 2, subsets)
    assert choice.members() == {"a": ["A", "G"], "b": ["A"]}
    combined = choice.combine(cv[["A", "G"]].to_numpy(), np.array([0, 0, 1, 1]))
    np.testing.assert_allclose(np.abs(combined - cv["y"].to_numpy()).reshape(2, 2).mean(axis=1), subsets["A+G"].to_numpy())


def test_conformal_intervals_cover_as_promised_on_iid_noise():
    rng = np.random.default_rng(3)
    n_series, steps = 400, 4
    residuals = pd.DataFrame(
        {"unique_id": np.repeat([f"s{i}" for i in range(n_series)], steps * 3), "step": np.tile(np.arange(1, steps + 1), n_series * 3)}
    )
    scale = pd.Series(rng.uniform(1, 10, n_series), index=[f"s{i}" for i in range(n_series)])
    residuals["error"] = rng.normal(0, 1, len(residuals)) * scale.reindex(residuals["unique_id"]).to_numpy()
    q = conformal_quantiles(residuals, scale, steps, [80, 95])
    fresh = rng.normal(0, 1, 100_000)
    for level in (80, 95):
        coverage = np.mean(np.abs(fresh) <= q[str(level)][0])
        assert abs(coverage - level / 100) < 0.03


def test_metrics_match_hand_computed_values():
    history = _frame({"a": np.array([1.0, 2, 3, 4, 5])})
    future = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-06", periods=2), "y": [6.0, 8.0], "f": [7.0, 7.0]})
    metrics = forecast_metrics(future, "f", history, season_length=1)
    assert metrics["mase"] == pytest.approx(1.0)  # mean |e| = 1, naive in-sample MAE = 1
    assert metrics["wape"] == pytest.approx(2 / 14)
    assert metrics["bias"] == pytest.approx(0.0)
    assert metrics["smape"] == pytest.approx(np.mean([200 * 1 / 13, 200 * 1 / 15]))


def test_dask_engine_gives_the_same_forecasts_as_the_local_engine(fitted):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    df, model = fitted
    local = model.predict(df)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, Client(cluster):
        distributed = model.predict(df, engine="dask")
    pd.testing.assert_frame_equal(local, distributed)


def test_dask_cross_validation_chooses_the_same_models_on_one_cluster(fitted, monkeypatch):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    import kpredict.forecasting.dask_engine as dask_engine

    opened = []
    real_client = dask_engine.dask_client

    @contextmanager
    def counting_client(n_workers: int = 2):
        opened.append(n_workers)
        with real_client(n_workers) as client:
            yield client

    monkeypatch.setattr(dask_engine, "dask_client", counting_client)
    df, model = fitted
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, Client(cluster):
        again = Forecaster(model.settings).fit(df, engine="dask")
    # regular and intermittent series cross-validate as separate groups, on the one client (a start costs seconds)
    cross_validated = model.selection_[model.selection_["cv_windows"] > 0]
    intermittent = cross_validated["demand_class"].isin(["intermittent", "lumpy"])
    assert intermittent.any() and not intermittent.all()
    assert len(opened) == 1
    # statsforecast's fugue backend returns forecasts as float32: same choices, scores equal to ~1e-6
    pd.testing.assert_frame_equal(model.selection_.drop(columns="cv_mase"), again.selection_.drop(columns="cv_mase"))
    pd.testing.assert_frame_equal(model.cv_scores_, again.cv_scores_, rtol=1e-4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=6),
    freq=st.sampled_from(["D", "MS", "QS"]),
    horizon=st.integers(min_value=1, max_value=6),
    seed=st.integers(min_value=0, max_value=10_000),
    sparse=st.booleans(),
)
def test_every_series_gets_exactly_h_finite_future_periods(lengths, freq, horizon, seed, sparse):
    """Whatever the lengths (1 to 40), values (zeros, huge) or frequency: h rows per series, ids kept."""
    rng = np.random.default_rng(seed)
    series = {}
    for i, n in enumerate(lengths):
        values = rng.gamma(2.0, 10.0 ** rng.integers(0, 7), n)
        if sparse:
            values = np.where(rng.random(n) < 0.7, 0.0, np.round(values))
        series[f"id {i} ✓"] = values
    df = prepare_series(_frame(series, freq=freq, start="2020-01-01"), freq=freq)
    model = Forecaster(
        ForecasterSettings(
            freq=freq, season_length=4, horizon=horizon, models=[{"model": "HistoricAverage"}],
            intermittent_models=[{"model": "CrostonSBA"}], baselines=[{"model": "Naive"}, {"model": "SeasonalNaive"}],
            cv_windows=3, cv_step=1, min_train_length=3, nonnegative=True,
        )
    ).fit(df)
    out = model.predict(df)
    assert out.groupby("unique_id").size().eq(horizon).all() and set(out["unique_id"]) == set(series)
    numbers = out[["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]].to_numpy()
    assert np.isfinite(numbers).all() and (numbers >= 0).all()
    offset = pd.tseries.frequencies.to_offset(freq)
    last = df.groupby("unique_id")["ds"].max()
    for uid, group in out.groupby("unique_id"):
        expected = pd.date_range(last[uid] + offset, periods=horizon, freq=freq)
        assert list(group["ds"]) == list(expected)


def test_series_too_short_for_the_global_model_leave_it_out():
    df = prepare_series(_frame({"a": np.arange(10.0), "b": np.arange(12.0)}), freq="D")
    model = Forecaster(_settings(global_model={"lags": [1, 7, 14], "rolling_windows": [], "date_features": []})).fit(df)
    assert model.global_ is None
    out = model.predict(df)
    assert out.groupby("unique_id").size().eq(7).all() and np.isfinite(out["yhat"]).all()


# ----------------------------------------------------------------- positions instead of dates, Naive2
def test_integer_positions_forecast_like_dates_and_continue_each_series():
    """Competition data (M1, M3) has positions, not dates: freq=1 as statsforecast takes it."""
    rng = np.random.default_rng(5)
    rows = [pd.DataFrame({"unique_id": uid, "ds": np.arange(start, start + n), "y": 50 + np.cumsum(rng.normal(0, 1, n))})
            for uid, start, n in (("a", 1, 40), ("b", 11, 30), ("c", 1, 5))]
    df = prepare_series(pd.concat(rows, ignore_index=True), freq=1)
    assert df["ds"].dtype == np.int64
    model = Forecaster(_settings(freq=1, season_length=1, horizon=4)).fit(df)
    out = model.predict(df)
    assert out.groupby("unique_id")["ds"].apply(list).to_dict() == {"a": [41, 42, 43, 44], "b": [41, 42, 43, 44], "c": [6, 7, 8, 9]}
    assert np.isfinite(out["yhat_lo_80"]).all()
    dated = prepare_series(df.assign(ds=pd.Timestamp("2020-01-01") + pd.to_timedelta(df["ds"], unit="D")), freq="D")
    pd.testing.assert_series_equal(out["yhat"], Forecaster(_settings(season_length=1, horizon=4)).fit(dated).predict(dated)["yhat"])


def test_integer_positions_are_checked_and_named():
    df = pd.DataFrame({"unique_id": "a", "ds": [1, 2, 4], "y": [1.0, 2, 3]})
    with pytest.raises(SchemaError, match="missing periods"):
        prepare_series(df, freq=1)
    assert prepare_series(df, freq=1, gaps="zero")["y"].tolist() == [1.0, 2.0, 0.0, 3.0]
    with pytest.raises(SchemaError, match="not on the frequency 2"):
        prepare_series(df, freq=2)
    with pytest.raises(SchemaError, match="whole-number positions"):
        prepare_series(df.assign(ds=[1.0, 2.5, 3.0]), freq=1)
    with pytest.raises(SchemaError, match="holds dates but freq=1"):
        prepare_series(df.assign(ds=pd.date_range("2024-01-01", periods=3)), freq=1)
    with pytest.raises(SchemaError, match="at least 1"):
        prepare_series(df, freq=0)


def test_naive2_takes_out_the_season_only_where_the_m4_test_finds_one():
    from kpredict.forecasting.metrics import NAIVE2, naive2_forecast, owa

    index = np.tile([0.8, 1.2, 0.9, 1.1], 10)
    rng = np.random.default_rng(0)
    history = prepare_series(pd.DataFrame({
        "unique_id": np.repeat(["seasonal", "walk"], 40), "ds": np.tile(np.arange(1, 41), 2),
        "y": np.r_[100 * index, 100 + np.cumsum(rng.normal(0, 1, 40))],
    }), freq=1)
    future = Forecaster(_settings(freq=1, season_length=4, horizon=6)).future_index(history)
    forecast = naive2_forecast(history, 6, 4, future).set_index("unique_id")[NAIVE2]
    np.testing.assert_allclose(forecast["seasonal"], 100 * np.r_[index[:4], index[:2]])  # the pattern continues
    np.testing.assert_allclose(forecast["walk"], history["y"].iloc[-1])  # no season: the last value
    truth = forecast.reset_index().assign(ds=future.get_level_values("ds"), y=lambda f: f[NAIVE2] * 1.1)
    naive2 = forecast_metrics(truth, NAIVE2, history, 4)
    assert owa(naive2, naive2) == 1.0


def test_presets_name_every_frequency_and_take_overrides():
    from kpredict.forecasting.presets import PRESETS, preset_settings

    assert set(PRESETS) == {"yearly", "quarterly", "monthly", "weekly", "daily", "hourly"}
    for name in PRESETS:
        settings = preset_settings(name)
        assert settings.candidate_specs("smooth") and settings.short_specs("smooth")
    for name in ("yearly", "quarterly", "monthly"):  # short series get the three-model mean (M1 evidence)
        assert [spec.name for spec in preset_settings(name).short_specs("smooth")] == ["AutoETS", "AutoTheta", "AutoARIMA"]
    model = Forecaster(preset="monthly", freq=1, horizon=12, n_jobs=2)
    assert (model.settings.season_length, model.settings.horizon, model.settings.freq, model.settings.n_jobs) == (12, 12, 1, 2)
    with pytest.raises(ConfigError, match="unknown forecasting preset 'montly'"):
        Forecaster(preset="montly")
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['horizn'\]"):
        Forecaster(preset="monthly", horizn=12)
    with pytest.raises(ConfigError, match="either settings or a preset"):
        Forecaster(_settings(), preset="monthly")


def test_a_series_leaves_the_group_combination_only_where_its_own_subset_wins_every_window_clearly():
    from kpredict.forecasting.selection import WINDOW, choose

    index = pd.MultiIndex.from_product([["steady", "noisy", "clear"], [0, 1, 2]], names=["unique_id", WINDOW])
    subsets = pd.DataFrame({
        "A": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        "B": [1.2, 1.2, 1.2, 0.2, 1.5, 0.9, 0.6, 0.7, 0.5],  # noisy: better on average, not in every window
        "A+B": [0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8],
    }, index=index)
    scores = subsets[["A", "B"]].groupby(level="unique_id").mean()
    means = subsets.groupby(level="unique_id").mean()
    assert choose(scores, "combination", 2, means).members() == {u: ["A", "B"] for u in ("clear", "noisy", "steady")}
    own = choose(scores, "combination", 2, means, subset_windows=subsets, own_gain=0.1).members()
    assert own == {"clear": ["B"], "noisy": ["A", "B"], "steady": ["A", "B"]}
    strict = choose(scores, "combination", 2, means, subset_windows=subsets, own_gain=0.5).members()
    assert strict["clear"] == ["A", "B"]  # 0.6 vs 0.8 is a quarter better, not half


def test_a_member_forecast_that_diverges_is_left_out_of_the_series_forecast(caplog):
    """A short, steep series whose chosen model runs away from everything it has seen: the forecast
    (and so its band) stays within divergence_ratio x its largest value, and the model column says why."""
    import logging

    from kpredict.forecasting.series import ID, TARGET, TIME

    rng = np.random.default_rng(0)
    calm = pd.DataFrame({ID: "calm", TIME: pd.date_range("2024-01-01", periods=60, freq="D"), TARGET: 50 + rng.normal(0, 2, 60)})
    settings = ForecasterSettings(freq="D", season_length=1, horizon=30, models=[{"model": "RandomWalkWithDrift"}, {"model": "HistoricAverage"}],
                                  baselines=[{"model": "Naive"}], selection="best", short_models=[], cv_windows=1)
    model = Forecaster(settings).fit(calm)
    steep = pd.DataFrame({ID: "steep", TIME: pd.date_range("2024-02-19", periods=11, freq="D"), TARGET: np.arange(11.0)})
    history = pd.concat([calm, steep], ignore_index=True)
    for run_away, kept in [(["RandomWalkWithDrift"], "Naive"), (["RandomWalkWithDrift", "HistoricAverage"], "HistoricAverage")]:
        model.selection_ = pd.concat([model.selection_[model.selection_[ID] == "calm"],
                                      pd.DataFrame({ID: ["steep"], "members": [json.dumps(run_away)], "model": ["+".join(run_away)],
                                                    "demand_class": ["smooth"], "interval_group": ["regular"]})], ignore_index=True)
        with caplog.at_level(logging.WARNING):
            forecast = model.predict(history).set_index(ID)
        # drift 1 a day for 30 days reaches 40, past 3 x the largest value (10): left out
        assert forecast.loc["steep", "yhat"].max() <= 30 and forecast.loc["steep", "yhat_hi_95"].max() < 5 * 10
        assert (forecast.loc["steep", "model"] == f"{kept} (RandomWalkWithDrift diverged)").all()
        assert "1 series: a model forecast more than 3 x the largest value" in caplog.text
        caplog.clear()
    unguarded = Forecaster(ForecasterSettings(**{**settings.__dict__, "divergence_ratio": None}))
    unguarded.selection_, unguarded.quantiles_, unguarded.class_default_ = model.selection_, model.quantiles_, model.class_default_
    unguarded.selection_.loc[unguarded.selection_[ID] == "steep", "members"] = json.dumps(["RandomWalkWithDrift"])
    assert unguarded.predict(history).set_index(ID).loc["steep", "yhat"].max() == pytest.approx(40)  # without the guard the drift stands
