"""The causal KPI detector (kpredict.modeling.KpiDetector), the event-level metrics it is judged by,
and NAB's scoring rules checked against NAB's published numbers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from conftest import shared_data
from kpredict.errors import SchemaError
from kpredict.evaluation.detection import event_detection_metrics
from kpredict.evaluation.nab import nab_contributions, nab_score, read_nab
from kpredict.modeling.kpi import KpiDetector

DAYS = 220
SPIKE_DAY, SHIFT_START, SHIFT_END, CHAIN_DAY = 170, 140, 185, 200


def _chain(seed: int = 0, n_series: int = 6) -> pd.DataFrame:
    """Daily revenue of a small chain: weekly pattern, noise, one chain-wide jump (a promotion day),
    a closure (down spike) in S0, and in S1 a level shift to 0.6x that later recovers."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2025-01-01", periods=DAYS, freq="D")
    weekly = np.array([1.0, 0.9, 0.95, 1.0, 1.1, 1.4, 1.3])
    frames = []
    for s in range(n_series):
        y = 1000 * (1 + 0.3 * s) * weekly[days.dayofweek] * np.exp(rng.normal(0, 0.06, DAYS))
        y[CHAIN_DAY] *= 1.6
        if s == 0:
            y[SPIKE_DAY] *= 0.25
        if s == 1:
            y[SHIFT_START:SHIFT_END] *= 0.6
        frames.append(pd.DataFrame({"unique_id": f"S{s}", "ds": days, "y": y}))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def chain() -> tuple[pd.DataFrame, KpiDetector, pd.DataFrame]:
    frame = _chain()
    detector = KpiDetector().fit(frame[frame["ds"] < frame["ds"].min() + pd.Timedelta(days=120)])
    return frame, detector, detector.detect(frame)


def _day(frame: pd.DataFrame, day: int) -> pd.Timestamp:
    return frame["ds"].min() + pd.Timedelta(days=day)


def test_a_score_at_t_does_not_change_when_every_later_value_does(chain):
    frame, detector, detected = chain
    cut = _day(frame, 150)
    changed = frame.copy()
    later = changed["ds"] > cut
    changed.loc[later, "y"] = changed.loc[later, "y"] * np.random.default_rng(1).uniform(0.2, 5.0, later.sum())
    again = detector.detect(changed)
    before = detected["ds"] <= cut
    pd.testing.assert_frame_equal(again[before], detected[before])
    assert not np.allclose(again.loc[~before, "surprise"], detected.loc[~before, "surprise"], equal_nan=True)


def test_a_closure_and_a_level_shift_alert_once_and_a_recovery_and_a_chain_wide_day_do_not(chain):
    frame, _, detected = chain
    s0, s1 = detected[detected["unique_id"] == "S0"], detected[detected["unique_id"] == "S1"]
    spike = s0.loc[s0["ds"] == _day(frame, SPIKE_DAY)].iloc[0]
    assert spike["kind"] == "spike" and spike["anomaly_score"] > 0.999 and spike["z"] < -5
    shift = s1[(s1["kind"] == "level_shift")]
    assert len(shift) == 1, shift  # one alert at the onset, then the new level is normal
    assert _day(frame, SHIFT_START) <= shift["ds"].iloc[0] <= _day(frame, SHIFT_START + 3)
    assert shift["shift_onset"].iloc[0] >= _day(frame, SHIFT_START)
    settled = s1[(s1["ds"] > shift["ds"].iloc[0] + pd.Timedelta(days=3)) & (s1["ds"] < _day(frame, SHIFT_END))]
    assert settled["surprise"].max() < 2.5
    recovery = s1[(s1["ds"] >= _day(frame, SHIFT_END)) & (s1["ds"] <= _day(frame, SHIFT_END + 4))]
    assert recovery["surprise"].max() < shift["surprise"].iloc[0] / 2  # back to the old level: no alert
    chain_day = detected[detected["ds"] == _day(frame, CHAIN_DAY)]
    assert chain_day["surprise"].max() < 2.0  # every store moved together: the peers take it out
    alone = KpiDetector(min_peers=0).fit(frame[frame["ds"] < _day(frame, 120)]).detect(frame)
    assert alone.loc[alone["ds"] == _day(frame, CHAIN_DAY), "surprise"].min() > 2.5  # without peers it would alert


def test_scores_are_shares_of_reference_steps_and_the_expected_value_is_in_the_kpis_units(chain):
    frame, detector, detected = chain
    scored = detected[detected["anomaly_score"].notna()]
    assert scored["anomaly_score"].between(0, 1).all()
    assert (detected.groupby("unique_id").head(detector.min_history)["anomaly_score"].isna()).all()  # the warm-up
    ratio = scored["y"] / scored["expected"]
    assert ratio.median() == pytest.approx(1.0, abs=0.05)
    assert set(detected["kind"].astype(str)) <= {"", "spike", "level_shift", "recovery"}


def test_the_same_input_gives_the_same_scores(chain):
    frame, _, detected = chain
    again = KpiDetector().fit(frame[frame["ds"] < _day(frame, 120)]).detect(frame)
    pd.testing.assert_frame_equal(again, detected)


def test_bad_input_names_the_column_and_what_was_expected():
    frame = _chain(n_series=2)
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['y'\]"):
        KpiDetector().fit(frame.drop(columns="y"))
    with pytest.raises(SchemaError, match=r"column 'y' has negative values.*log_transform"):
        KpiDetector().fit(frame.assign(y=-frame["y"]))
    with pytest.raises(SchemaError, match=r"several rows for one \(unique_id, ds\)"):
        KpiDetector().fit(pd.concat([frame, frame.head(3)]))
    with pytest.raises(SchemaError, match=r"too little KPI history"):
        KpiDetector().fit(frame.groupby("unique_id").head(40))


def test_the_season_keeps_its_phase_between_refits():
    """The ETS state is filtered from the step its fit began at; filtering a window that slides
    with t from the fit's initial states shifted the weekly phase by a step a day (residuals of
    up to 13 on this series, median 3.8)."""
    rng = np.random.default_rng(0)
    n = 300
    pattern = np.array([0, 4, 6, 5, 3, -8, -10.0])
    frame = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=n, freq="D"),
                          "y": 100 + pattern[np.arange(n) % 7] + rng.normal(0, 0.3, n)})
    detector = KpiDetector(refit_every=28, history=56, min_history=28, min_peers=0, log_transform=False)
    residual = detector.fit(frame.iloc[:150]).detect(frame)["residual"].iloc[150:].abs()
    assert residual.max() < 2.0 and residual.median() < 0.5  # noise sd 0.3


def test_half_hourly_weekends_are_learnt_as_the_season_not_alerted_as_shifts():
    """Six weeks of half-hours, weekends at half the weekday level: once two weeks are known the
    weekly season (MSTL-decomposed, ETS on the rest) expects the weekends. A day's season cannot,
    and flags the weekend's start and end as level shifts."""
    rng = np.random.default_rng(1)
    n = 48 * 7 * 6
    steps = np.arange(n)
    weekday_level = np.where((steps // 48) % 7 >= 5, 0.5, 1.0)
    y = weekday_level * (100 + 30 * np.sin(2 * np.pi * steps / 48)) * np.exp(rng.normal(0, 0.03, n))
    frame = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=n, freq="30min"), "y": y})

    def surprising_steps(detector: KpiDetector) -> int:
        late = detector.fit(frame.iloc[: n // 2]).detect(frame).iloc[n // 2 :]
        return int((late["surprise"] >= 3).sum())

    weekly = surprising_steps(KpiDetector.for_frequency("30min", min_peers=0))
    daily = surprising_steps(KpiDetector.for_frequency("30min", min_peers=0, season_length=48, fallback_season_length=1, refit_every=48, history=144))
    assert weekly <= 2 and daily >= 3 * max(weekly, 1), (weekly, daily)


def test_a_long_season_alone_is_decomposed_too():
    """season_length over 48 without a shorter season beside it (MSTL names its one component
    differently): hourly data with a weekly season set by hand is forecast far better than without."""
    rng = np.random.default_rng(2)
    n = 24 * 7 * 5
    steps = np.arange(n)
    y = np.where((steps // 24) % 7 >= 5, 60.0, 100.0) + 20 * np.sin(2 * np.pi * steps / 24) + rng.normal(0, 2, n)
    frame = pd.DataFrame({"unique_id": "a", "ds": pd.date_range("2024-01-01", periods=n, freq="h"), "y": y})

    def late_error(**settings) -> float:
        detector = KpiDetector(min_peers=0, log_transform=False, min_history=48, refit_every=168, history=504, **settings)
        return float(detector.fit(frame.iloc[: n // 2]).detect(frame)["residual"].iloc[-168:].abs().median())

    assert late_error(season_length=168) < late_error(season_length=1) / 2  # 1.42 against 3.88; noise alone: 1.35


def test_for_frequency_keeps_daily_defaults_and_takes_a_week_as_the_season_of_hourly_data():
    assert KpiDetector.for_frequency("1D").get_params() == KpiDetector().get_params()
    half_hourly = KpiDetector.for_frequency("30min")
    assert half_hourly.season_length == 336 and half_hourly.fallback_season_length == 48  # a day until two weeks are known
    assert half_hourly.refit_every == 336 and half_hourly.history == 3 * 336 and half_hourly.min_history == 96
    assert KpiDetector.for_frequency("5min", max_run=6).season_length == 1  # too long a season for ETS
    assert KpiDetector.for_frequency("5min", max_run=6).max_run == 6


# ------------------------------------------------------------------------------ event metrics


def test_a_level_shift_counts_when_alerted_within_its_first_steps_and_a_spike_on_its_day():
    kinds = ["", "", "level_shift", "level_shift", "level_shift", "level_shift", "level_shift", "", "spike", ""]
    frame = pd.DataFrame({"unique_id": "a", "kind": kinds, "score": [0, 0, 0, 0, 0, 0, 9, 0, 8, 0.0]})
    late = event_detection_metrics(frame, id_col="unique_id", score_col="score", within=3)
    assert late["events"] == 2 and late["recall_at_budget_level_shift"] == 0.0 and late["recall_at_budget_spike"] == 1.0
    frame.loc[[5, 6], "score"] = [10, 0]  # three steps after the start: caught
    early = event_detection_metrics(frame, id_col="unique_id", score_col="score", within=3, alert_col=None)
    assert early["recall_at_budget"] == 1.0 and early["precision_at_budget"] == 1.0


# ------------------------------------------------------------------------------ NAB


NAB_PUBLISHED = {"numenta": 0.5421876907348634, "windowedGaussian": 1.0}  # thresholds.json, standard profile
#: the files the figures below were measured on, and the only ones with NAB's published detections
#: beside them; the shared folder now holds 46 (judging the detector on all of them is issue 40's)
NAB_SIX = (
    "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv", "realKnownCause/ambient_temperature_system_failure.csv",
    "realKnownCause/ec2_request_latency_system_failure.csv", "realKnownCause/machine_temperature_system_failure.csv",
    "realKnownCause/nyc_taxi.csv", "realTweets/Twitter_volume_AAPL.csv",
)


def test_the_nab_scorer_reproduces_nabs_published_scores_row_by_row():
    root = shared_data("anomaly/nab")
    windows = json.loads((root / "labels" / "combined_windows.json").read_text())
    for detector, threshold in NAB_PUBLISHED.items():
        published = pd.read_csv(root / "results" / f"{detector}_standard_scores.csv").set_index("File")
        for name in NAB_SIX:
            file_windows = windows[name]
            category, file = name.split("/")
            rows = pd.read_csv(root / "results" / detector / category / f"{detector}_{file}")
            contributions, score = nab_contributions(pd.to_datetime(rows["timestamp"]), rows["anomaly_score"].to_numpy() >= threshold, file_windows)
            expected = published.loc[name]
            assert score.score == pytest.approx(expected["Score"], abs=1e-9), (detector, name)
            assert (score.tp, score.fp, score.fn, score.tn) == (expected["TP"], expected["FP"], expected["FN"], expected["TN"])
            np.testing.assert_allclose(contributions, rows["S(t)_standard"].to_numpy(), atol=1e-9)


def test_no_detection_costs_one_per_window_and_an_early_detection_earns_almost_one():
    ts = pd.date_range("2020-01-01", periods=1000, freq="h")
    windows = [(str(ts[500]), str(ts[549])), (str(ts[800]), str(ts[849]))]
    assert nab_score(ts, np.zeros(1000, bool), windows).score == -2.0
    early = np.zeros(1000, bool)
    early[[500, 820]] = True
    score = nab_score(ts, early, windows).score
    assert 1.0 < score < 2.0
    false_alarm = early.copy()
    false_alarm[300] = True  # no preceding window: the full false-positive cost
    assert nab_score(ts, false_alarm, windows).score == pytest.approx(score - 0.11)


@pytest.mark.slow
def test_on_nab_the_kpi_detector_scores_above_random_cut_forest_and_windowed_gaussian():
    """Goal (issue 11): raw standard-profile score over the 6 files above Random Cut Forest (0.01)
    and Windowed Gaussian (-6.51), aiming at Numenta HTM (6.85). Reached: 5.13 (one setting for
    every file: KpiDetector.for_frequency, learnt on NAB's probationary 15 %, alerts at a score of
    0.9999 with one alert a day at most). Per file (HTM): ec2 cpu 0.80 (0.85), ambient temperature
    -2.66 (-0.76), ec2 latency 2.69 (1.71), machine temperature 1.41 (1.36), NYC taxi 2.51 (2.44),
    Twitter AAPL 0.38 (1.26). NYC taxi (half-hourly) was -2.92 with a day as its season; with a
    week every labelled window is found and most other alerts fall on public holidays. Six files
    with 19 windows make the sum jumpy: variants alike on the demo scored -1.5 to 2.4 before."""
    from kpredict.evaluation.nab import _probation_rows

    total, per_file = 0.0, {}
    for item in read_nab(shared_data("anomaly/nab")):
        if item.name not in NAB_SIX:
            continue
        timestamps = item.frame["timestamp"]
        step = timestamps.diff().median()
        per_day = int(pd.Timedelta("1D") / step)
        probation = _probation_rows(len(item.frame), 0.15)
        # the detector needs only the order of the steps (NAB files repeat some timestamps)
        frame = pd.DataFrame({"unique_id": "s", "ds": pd.date_range("2000-01-01", periods=len(item.frame), freq="min"), "y": item.frame["value"].to_numpy()})
        detector = KpiDetector.for_frequency(step, min_peers=0, log_transform=False, min_history=min(probation // 2, 2 * per_day))
        score = detector.fit(frame.iloc[:probation]).detect(frame)["anomaly_score"].fillna(0).to_numpy()
        alerts, last = np.zeros(len(score), dtype=bool), -(10**9)
        for i in np.flatnonzero(score >= 0.9999):  # one alert a day at most: what an on-call person would accept
            if i - last > per_day:
                alerts[i], last = True, i
        per_file[item.name] = nab_score(timestamps, alerts, item.windows).score
        total += per_file[item.name]
    assert total >= 5.1, per_file  # Random Cut Forest 0.01, Windowed Gaussian -6.51, Numenta HTM 6.85


def test_a_fitted_detector_round_trips_through_skops_with_numeric_ids(tmp_path):
    import skops.io

    frame = _chain()
    frame["unique_id"] = frame["unique_id"].str[1:].astype(int)
    detector = KpiDetector(min_series_reference=50).fit(frame[frame["ds"] < _day(frame, 150)])
    assert set(detector.series_quantiles_) == {str(i) for i in range(6)}
    path = tmp_path / "kpi.skops"
    skops.io.dump(detector, path)
    loaded = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    pd.testing.assert_frame_equal(loaded.detect(frame), detector.detect(frame))


def test_a_detector_saved_before_the_fallback_season_existed_still_scores(tmp_path):
    import skops.io

    frame = _chain()
    detector = KpiDetector(min_series_reference=50).fit(frame[frame["ds"] < _day(frame, 150)])
    expected = detector.detect(frame)
    del detector.fallback_season_length  # what an artefact from the previous release holds
    path = tmp_path / "old.skops"
    skops.io.dump(detector, path)
    loaded = skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
    assert loaded.fallback_season_length == 1
    pd.testing.assert_frame_equal(loaded.detect(frame), expected)
