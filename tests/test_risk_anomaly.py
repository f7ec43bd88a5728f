"""The risk-anomaly pipeline: the calibrated scorer, point-in-time event features, training against
the demo's known anomalies, scoring with alerts and reasons, and the quality on the default demo."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kpredict.cli.main import app
from kpredict.errors import ConfigError, SchemaError
from kpredict.hashing import file_hash
from kpredict.modeling.anomaly import AnomalyScorer

from conftest import risk_config

REPO = Path(__file__).resolve().parents[1]
KIND_ASPECT = {"amount_spike": "amount", "odd_hour": "time_of_day", "new_geography": "novelty", "velocity_burst": "velocity"}


# ------------------------------------------------------------------------------------ the scorer


def _normal(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows), "gap": rng.exponential(size=rows)})


@pytest.mark.parametrize("method", ["deviation", "isolation_forest"])
def test_scores_are_the_share_of_reference_events_less_anomalous(method):
    reference = _normal(20_000, 0)
    scorer = AnomalyScorer(method=method, aspects={"size": ["a", "b"]}, low_tail=["gap"], n_estimators=50).fit(reference)
    scores = scorer.score_samples(reference)
    assert scores.min() >= 0 and scores.max() < 1
    assert abs((scores >= 0.99).mean() - 0.01) < 0.003 and abs(np.median(scores) - 0.5) < 0.02
    extreme = scorer.score_samples(pd.DataFrame({"a": [8.0, 12.0], "b": [0.0, 0.0], "gap": [1.0, 1.0]}))
    if method == "deviation":  # beyond the reference the order is kept by the extrapolated tail
        assert scores.max() < extreme[0] < extreme[1]
    else:  # the forest isolates every far point at the same depth
        assert (extreme > 0.9).all()
    again = AnomalyScorer(method=method, aspects={"size": ["a", "b"]}, low_tail=["gap"], n_estimators=50).fit(reference)
    np.testing.assert_array_equal(again.score_samples(reference.head(500)), scores[:500])


def test_deviation_scores_rank_further_values_higher_and_read_low_tails_low():
    scorer = AnomalyScorer(low_tail=["gap"]).fit(_normal(20_000, 1))
    probe = pd.DataFrame({"a": [0.0, 4.0, 6.0, 0.0], "b": [0.0, 0.0, 0.0, 0.0], "gap": [1.0, 1.0, 1.0, 1e-6]})
    raw = scorer.raw_score(probe)
    assert raw[0] < raw[1] < raw[2] and raw[3] > raw[0]
    deviations = scorer.deviations(probe)
    assert deviations[3, 2] > 4 and deviations[1, 0] > 3 and deviations[0].max() < 1.5


def test_the_scorer_refuses_what_it_cannot_score():
    with pytest.raises(ConfigError, match=r"aspects name features the data lacks: \['c'\]"):
        AnomalyScorer(aspects={"x": ["a", "c"]}).fit(_normal(100, 0))
    with pytest.raises(ConfigError, match="method must be one of"):
        AnomalyScorer(method="lof").fit(_normal(100, 0))
    broken = _normal(100, 0)
    broken.loc[3, "b"] = np.nan
    with pytest.raises(SchemaError, match=r"features \['b'\] have missing or infinite values"):
        AnomalyScorer().fit(broken)
    from sklearn.base import clone

    assert clone(AnomalyScorer(low_tail=("gap",))).get_params()["low_tail"] == ("gap",)


# ------------------------------------------------------------------------------------ events


def test_a_payments_features_never_see_that_payment_or_later_ones(small_demo, tmp_path):
    from kpredict.pipelines.risk_anomaly.events import event_features, load_events

    data = tmp_path / "data"
    shutil.copytree(small_demo, data)
    cut = pd.Timestamp("2026-08-01")
    before = risk_config(tmp_path / "a", data)
    store = before.open_store()
    early = load_events(before, store, start=pd.Timestamp("2026-07-25"), end=cut)
    first = event_features(before, store, early)
    payments = pd.read_parquet(data / "transactions.parquet")
    later = payments[payments["ts"] >= cut].assign(amount=lambda f: f["amount"] * 100, country="ZZ")
    extra = later.assign(ts=later["ts"] + pd.Timedelta(seconds=1), txn_id=later["txn_id"] + 10_000_000)
    pd.concat([payments[payments["ts"] < cut], later, extra]).to_parquet(data / "transactions.parquet", index=False)
    after = risk_config(tmp_path / "b", data)
    second = event_features(after, after.open_store(), early)
    pd.testing.assert_frame_equal(first, second)  # everything after the cut changed; nothing before it did
    truth = pd.read_parquet(small_demo / "truth" / "transactions.parquet")
    geo = truth.loc[truth["anomaly_kind"] == "new_geography", "txn_id"]
    original = risk_config(tmp_path / "c", small_demo)
    events = load_events(original, original.open_store(), start=pd.Timestamp("2026-01-01"))  # accounts have a history by then
    everything = event_features(original, original.open_store(), events)
    assert everything.loc[everything["txn_id"].isin(geo), "new_country"].eq(1).all()  # a payment never counts itself


def test_an_accounts_hour_share_counts_its_earlier_payments_at_that_hour_and_a_missing_view_is_named(small_demo, tmp_path):
    from kpredict.pipelines.risk_anomaly.events import event_features, load_events

    config = risk_config(tmp_path / "a", small_demo)
    store = config.open_store()
    events = load_events(config, store, start=pd.Timestamp("2026-06-01"), end=pd.Timestamp("2026-06-08"))
    features = event_features(config, store, events)
    # recount by hand: the account's payments at the same clock hour in the 90 days strictly before
    payments = pd.read_parquet(small_demo / "transactions.parquet")
    for row in events.sample(40, random_state=0).itertuples():
        past = payments[(payments["account_id"] == row.account_id) & (payments["ts"] < row.ts) & (payments["ts"] >= row.ts - pd.Timedelta(days=90))]
        expected = ((past["ts"].dt.hour == row.ts.hour).sum() + 1 / 24) / (len(past) + 1)
        assert features.loc[features["txn_id"] == row.txn_id, "account_hour_share"].item() == pytest.approx(expected)
    without = risk_config(tmp_path / "b", small_demo, views=[v for v in config.views if v != "payment_account_hour_history"])
    with pytest.raises(SchemaError, match="account_payments_at_this_hour_90d.*payment_account_hour_history"):
        event_features(without, without.open_store(), events)


def test_the_payments_file_is_read_once_for_the_events_and_the_views_with_the_same_features(small_demo, tmp_path, monkeypatch):
    """Training and scoring read the payments source once (read_events) and hand it to the views
    (FeatureStore.training_frame's source_rows): the features equal those of separate reads."""
    import kpredict.features.sources as sources
    import kpredict.pipelines.risk_anomaly.events as events_module
    from kpredict.pipelines.risk_anomaly.events import event_features, load_events, read_events

    config = risk_config(tmp_path / "a", small_demo)
    window = {"start": pd.Timestamp("2026-06-01"), "end": pd.Timestamp("2026-06-08")}
    separate = event_features(config, config.open_store(), load_events(config, config.open_store(), **window))
    reads: list[str] = []
    original = sources.read_source
    counted = lambda repo, name, *args, **kwargs: reads.append(name) or original(repo, name, *args, **kwargs)  # noqa: E731
    monkeypatch.setattr(sources, "read_source", counted)
    monkeypatch.setattr(events_module, "read_source", counted)
    fresh = risk_config(tmp_path / "b", small_demo)
    store = fresh.open_store()
    source = read_events(fresh, store)
    once = event_features(fresh, store, load_events(fresh, store, source=source, **window), source=source)
    pd.testing.assert_frame_equal(once, separate)
    assert reads.count(fresh.source) == 1, reads


# ------------------------------------------------------------------------------------ training


def test_training_beats_an_isolation_forest_on_the_raw_columns_and_registers(risk_project):
    _, _, result, _ = risk_project
    m = result.metrics
    assert m["holdout_average_precision"] > m["baseline_holdout_average_precision"] + 0.3
    assert m["holdout_recall_at_budget"] > m["baseline_holdout_recall_at_budget"] + 0.3
    assert abs(m["holdout_alerts_per_day"] - 5) < 2  # the alert budget holds on unseen days
    from mlflow import MlflowClient

    version = MlflowClient().get_model_version("kpredict-risk_anomaly", str(result.model_version))
    assert version.tags["kpredict.metric_name"] == "average_precision"
    assert "plots/precision_recall.png" in {a.path for a in MlflowClient().list_artifacts(result.run_id, "plots")}


def test_a_detector_without_labels_still_registers_and_channel_urls_are_not_logged(small_demo, tmp_path):
    import mlflow
    from mlflow import MlflowClient

    from kpredict.pipelines.risk_anomaly import PIPELINE

    config = risk_config(tmp_path, small_demo, **{"delivery.channels": {"ops": "json://hooks.example/tok3n-secret"}})
    result = PIPELINE.train(config.model_copy(update={"labels": None}))
    assert result.model_version >= 1 and "holdout_average_precision" not in result.metrics
    # the label-free criterion: how closely the alerts on unseen days keep the promised budget
    version = MlflowClient().get_model_version("kpredict-risk_anomaly", str(result.model_version))
    assert version.tags["kpredict.metric_name"] == "alert_budget_error"
    assert 0 <= result.metrics["holdout_alert_budget_error"] < 0.5
    assert result.promoted or "alert_budget_error" in result.promotion_reason, result.promotion_reason
    run = MlflowClient().get_run(result.run_id)
    logged = json.dumps(run.data.params) + Path(mlflow.artifacts.download_artifacts(run_id=result.run_id, artifact_path="config/resolved.yaml")).read_text()
    assert "tok3n-secret" not in logged and "json://***" in logged


# ------------------------------------------------------------------------------------ scoring


def test_scored_payments_have_the_standard_columns_bands_and_alerts(risk_project):
    project, _, result, scored = risk_project
    frame = scored.frame
    assert list(frame.columns[:10]) == ["account_id", "txn_id", "ts", "as_of", "model_name", "model_version", "run_id", "anomaly_score", "severity", "is_alert"]
    assert frame["anomaly_score"].between(0, 1).all() and set(frame["severity"]) <= {"low", "medium", "high", "critical"}
    assert frame.loc[frame["is_alert"], "severity"].isin(["high", "critical"]).all()
    alerts = scored.companions["alerts"]
    day = pd.to_datetime(alerts["ts"]).dt.floor("1D")
    assert not alerts.assign(day=day).duplicated(["account_id", "day"]).any()  # one per account a day
    assert (alerts["reason_1_en"] != "").all() and (alerts["reason_1_zh"] != "").all()
    manifest = json.loads(scored.manifest.read_text())
    assert manifest["companion_files"]["alerts"]["sha256"] == file_hash(scored.companion_paths["alerts"])
    assert manifest["params"] == {"window": "30d", "table": None, "kpi_table": None}


def test_kpi_steps_are_scored_beside_the_payments_with_the_same_columns_and_reasons(risk_project):
    project, config, result, scored = risk_project
    from mlflow import MlflowClient

    assert {"kpi_recall_at_budget", "kpi_alerts_per_1000", "kpi_evaluated_steps"} <= set(result.metrics)
    assert "plots/kpi_alerts.png" in {a.path for a in MlflowClient().list_artifacts(result.run_id, "plots")}
    kpi = scored.companions["kpi"]
    assert list(kpi.columns[:12]) == [
        "store_id", "as_of", "model_name", "model_version", "run_id", "event_id", "ts", "revenue", "expected", "anomaly_score", "severity", "is_alert",
    ]
    days = pd.to_datetime(kpi["ts"])
    assert days.min() >= pd.Timestamp("2026-10-02") and days.max() < pd.Timestamp("2026-11-01")
    assert not kpi.duplicated(["store_id", "ts"]).any() and len(kpi) == 30 * kpi["store_id"].nunique()
    assert kpi["anomaly_score"].between(0, 1).all() and kpi["event_id"].is_unique
    assert (kpi["reason_1_en"].str.contains("expected")).all() and (kpi["reason_1_zh"].str.contains("预期")).all()
    alerts = scored.companions["kpi_alerts"]
    assert alerts["is_alert"].all() and set(alerts["event_id"]) == set(kpi.loc[kpi["is_alert"], "event_id"])
    manifest = json.loads(scored.manifest.read_text())
    assert manifest["companion_files"]["kpi"]["sha256"] == file_hash(scored.companion_paths["kpi"])


def test_the_first_reason_of_an_alert_is_the_injected_anomalys_kind(risk_project, small_demo):
    _, _, result, scored = risk_project
    from kpredict.pipelines.risk_anomaly.events import ASPECTS

    truth = pd.read_parquet(small_demo / "truth" / "transactions.parquet")
    caught = scored.frame[scored.frame["is_alert"]].merge(truth, on="txn_id")
    caught = caught[caught["is_anomaly"]]
    assert len(caught) >= 20
    aspect_of = {feature: aspect for aspect, features in ASPECTS.items() for feature in features}
    named = caught["reason_1_feature"].map(aspect_of) == caught["anomaly_kind"].map(KIND_ASPECT)
    assert named.mean() >= 0.9, caught.groupby("anomaly_kind")["reason_1_feature"].value_counts()


def test_the_window_parameter_is_checked_and_reruns_give_the_same_bytes(risk_project, tmp_path):
    project, config, result, scored = risk_project
    from kpredict.scoring import score

    again = score("risk_anomaly", "2026-11-01", model=result.model_version, config=config, output_dir=project / "output", window="30d")
    assert file_hash(again.output) == file_hash(scored.output)
    with pytest.raises(ConfigError, match=r"window: Value error, expected a duration like"):
        score("risk_anomaly", "2026-11-01", config=config, write=False, window="soon")
    import yaml

    path = tmp_path / "risk.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    done = CliRunner().invoke(app, ["score", "risk_anomaly", "--as-of", "2026-11-01", "--config", str(path), "--output-dir", str(tmp_path), "--window", "2d", "--model", str(result.model_version)])
    assert done.exit_code == 0, done.output
    written = pd.read_parquet(tmp_path / "risk_anomaly_2026-11-01.parquet")
    assert pd.to_datetime(written["ts"]).min() >= pd.Timestamp("2026-10-30")


def test_the_dask_engine_gives_the_same_rows_and_alerts_as_the_local_engine(risk_project):
    _, config, result, scored = risk_project
    from kpredict.scoring import score

    distributed = score("risk_anomaly", "2026-11-01", model=result.model_version, config=config, write=False, window="30d", engine="dask", chunk_rows=500)
    pd.testing.assert_frame_equal(distributed.frame, scored.frame)
    for name, table in scored.companions.items():
        pd.testing.assert_frame_equal(distributed.companions[name], table)


# ------------------------------------------------------------------------------------ quality


@pytest.mark.slow
def test_on_the_default_demo_the_detector_finds_most_injected_anomalies_of_every_kind(tmp_path):
    """Goal (issue 11): recall at a budget of the injected count >= 0.90 overall, >= 0.80 per kind.
    Reached so far: 0.864 overall (amount 0.853, odd hour 0.896, new geography 0.938, velocity 0.821):
    the per-kind goal is met, the overall one not yet (the first payment of a velocity burst has no
    earlier payment to give it away; an amount spike on an account whose amounts vary widely is
    within its normal range). The test holds those figures and the margin over the forest on
    the raw columns and on the same features."""
    from kpredict.datasets import generate
    from kpredict.pipelines.risk_anomaly import PIPELINE

    data = tmp_path / "demo"
    generate(data, size="default", seed=0)
    config = risk_config(tmp_path, data)
    result = PIPELINE.train(config)
    m = result.metrics
    assert m["holdout_recall_at_budget"] >= 0.864
    floors = {"amount_spike": 0.85, "odd_hour": 0.895, "new_geography": 0.93, "velocity_burst": 0.82}
    for kind, floor in floors.items():
        assert m[f"holdout_recall_at_budget_{kind}"] >= floor, (kind, m[f"holdout_recall_at_budget_{kind}"])
    assert m["holdout_recall_at_budget"] > m["baseline_holdout_recall_at_budget"] + 0.4
    # KPI events (the stores' injected level shifts and spikes) on the latest year, scored causally.
    # Goal: >= 0.8 per kind at a budget of their number. Reached: 0.48 overall (level shifts 2 of 7,
    # spikes 8 of 14); every downward spike is found, while upward ones are the size of the
    # bulk orders the demo's lumpy products place anyway, and a 1.3-1.5x shift is 1.5 noise
    # standard deviations a day. What a user tries first, a rolling z-score, finds 1 of 21.
    assert m["kpi_events"] >= 15
    assert m["kpi_recall_at_budget"] >= 0.47 and m["kpi_recall_at_budget_spike"] >= 0.57 and m["kpi_recall_at_budget_level_shift"] >= 0.28
    assert m["kpi_recall_at_budget"] > _rolling_z_recall(config, result.tables["kpi_evaluated"]) + 0.25
    forest = PIPELINE.train(config, **{"detector.method": "isolation_forest"}).metrics
    assert m["holdout_recall_at_budget"] > forest["holdout_recall_at_budget"] + 0.1
    assert m["holdout_average_precision"] > forest["holdout_average_precision"]


def _rolling_z_recall(config, evaluated: pd.DataFrame) -> float:
    """KPI event recall at the budget of a rolling z-score (28 days, causal) on the same evaluated steps."""
    from kpredict.evaluation.detection import event_detection_metrics
    from kpredict.pipelines.risk_anomaly.kpi import load_kpi

    frame, _ = load_kpi(config, config.open_store())
    past = frame.groupby("unique_id")["y"].transform(lambda y: y.shift(1).rolling(28, min_periods=14).mean())
    spread = frame.groupby("unique_id")["y"].transform(lambda y: y.shift(1).rolling(28, min_periods=14).std())
    frame["rolling_z"] = ((frame["y"] - past) / spread).abs()
    evaluated = evaluated.merge(frame[["unique_id", "ds", "rolling_z"]], on=["unique_id", "ds"])
    return event_detection_metrics(evaluated, id_col="unique_id", score_col="rolling_z", kind_col="true_kind")["recall_at_budget"]


def test_alerts_reach_a_webhook_once_even_when_it_was_down_at_first(risk_project, tmp_path):
    import yaml

    from test_delivery import free_port, receiver

    _, config, result, _ = risk_project
    port = free_port()
    delivering = config.model_copy(update={"delivery": config.delivery.model_copy(update={"channels": {"ops": f"json://127.0.0.1:{port}/alerts"}})})
    path = tmp_path / "risk.yaml"
    path.write_text(yaml.safe_dump(delivering.model_dump(mode="json")), encoding="utf-8")
    command = ["score", "risk_anomaly", "--as-of", "2026-11-01", "--config", str(path), "--output-dir", str(tmp_path / "out"), "--model", str(result.model_version), "--window", "7d"]
    down = CliRunner().invoke(app, command)
    assert down.exit_code == 5 and "wait in the outbox" in down.output, down.output
    output = tmp_path / "out" / "risk_anomaly_2026-11-01.parquet"
    manifest = json.loads((tmp_path / "out" / "risk_anomaly_2026-11-01.manifest.json").read_text())
    assert manifest["output"]["sha256"] == file_hash(output)  # written in full before the delivery failed
    alerts = pd.read_parquet(tmp_path / "out" / "risk_anomaly_2026-11-01.alerts.parquet")
    expected = int(alerts["severity"].isin(["high", "critical"]).sum())
    assert expected > 0
    with receiver(port) as received:
        up = CliRunner().invoke(app, command)
        rerun = CliRunner().invoke(app, command)
    assert up.exit_code == 0 and rerun.exit_code == 0, up.output + rerun.output
    assert len(received) == expected  # each alert once, though the job ran three times
    assert "unusual payment on account" in received[0]["title"] and "异常支付" in received[0]["title"]


def test_kpi_alert_messages_have_stable_ids_both_languages_and_respect_the_minimum_severity():
    from kpredict.pipelines.risk_anomaly.config import KpiConfig
    from kpredict.pipelines.risk_anomaly.scoring import kpi_alert_messages

    alerts = pd.DataFrame(
        {
            "store_id": ["S1", "S2"], "event_id": ["store_revenue:S1:2026-10-19T00:00:00", "store_revenue:S2:2026-10-20T00:00:00"],
            "ts": pd.to_datetime(["2026-10-19", "2026-10-20"]), "anomaly_score": [0.9995, 0.996], "severity": ["critical", "medium"],
            "reason_1_en": ["revenue 580 against 2,900 expected (-80%)", "x"], "reason_1_zh": ["营收 580，预期 2,900（-80%）", "x"],
        }
    )
    messages = kpi_alert_messages(alerts, "risk_anomaly", KpiConfig(), min_severity="high", lang="both")
    assert len(messages) == 1  # the medium one stays in the table, it is not sent
    message = messages[0]
    assert message == kpi_alert_messages(alerts, "risk_anomaly", KpiConfig(), min_severity="high", lang="both")[0]  # same id on a re-run
    assert ":" not in message.id and "S1" in message.id
    assert "[critical]" in message.title and "【严重】" in message.title
    assert "-80%" in message.body and "预期" in message.body
    english = kpi_alert_messages(alerts, "risk_anomaly", KpiConfig(), min_severity="high", lang="en")[0]
    assert "预期" not in english.body


def test_the_kpi_detector_follows_the_series_step_unless_the_config_says_otherwise():
    from kpredict.modeling.kpi import KpiDetector
    from kpredict.pipelines.risk_anomaly.config import KpiConfig
    from kpredict.pipelines.risk_anomaly.kpi import build_detector, series_step

    hourly = pd.DataFrame({"unique_id": ["a"] * 4 + ["b"] * 3, "ds": pd.to_datetime(
        ["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 03:00", "2024-01-01 04:00", "2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00"])})
    assert series_step(hourly) == pd.Timedelta("1h")  # a missing hour does not make it two-hourly
    assert series_step(hourly.head(1)) == pd.Timedelta("1D")
    assert build_detector(KpiConfig(), "1D").get_params() == KpiDetector().get_params()  # the demo's daily revenue: unchanged
    detector = build_detector(KpiConfig(min_peers=0), series_step(hourly))
    assert (detector.season_length, detector.fallback_season_length, detector.refit_every) == (168, 24, 168) and detector.min_peers == 0
    assert build_detector(KpiConfig(season_length=24), "1h").season_length == 24  # an explicit setting wins
