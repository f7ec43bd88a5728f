"""Monitoring: drift of every scoring run logged beside the model version, and `kpredict evaluate`
checking stored predictions against the outcomes that arrived later."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from kpredict.cli.main import app
from kpredict.errors import DataNotFoundError
from kpredict.monitoring.drift import PSI_ALERT, drift, psi, reference_profile

# The small demo's data ends 2026-10-31: after these dates a 30-day churn horizon and 28 forecast days have passed.
CHURN_PAST = "2026-09-01"  # a month the generator's truth has a snapshot for
MARGIN = 0.05  # the retrained model must beat the stale champion on the new holdout by more than this ROC-AUC
SALES_PAST = "2026-10-01"  # its 28 forecast days end 2026-10-28


def test_psi_is_small_for_the_same_distribution_and_large_for_a_moved_one():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"fee": rng.gamma(4, 10, 8000), "plan": rng.choice(["basic", "plus", "pro"], 8000, p=[0.5, 0.3, 0.2])})
    profile = reference_profile(train, numeric=["fee"], categorical=["plan"], scores=rng.beta(1, 8, 8000))
    json.dumps(profile)  # it travels in the model's meta as JSON
    same = pd.DataFrame({"fee": rng.gamma(4, 10, 3000), "plan": rng.choice(["basic", "plus", "pro"], 3000, p=[0.5, 0.3, 0.2])})
    moved = pd.DataFrame({"fee": rng.gamma(4, 10, 3000) * 1.5, "plan": rng.choice(["basic", "plus", "max"], 3000, p=[0.2, 0.3, 0.5])})
    stable = drift(profile, same, rng.beta(1, 8, 3000))
    shifted = drift(profile, moved, rng.beta(2, 4, 3000))
    assert stable["psi_max"] < 0.02 and stable["drifted"] == [] and stable["score_psi"] < 0.02
    assert shifted["drifted"] == ["plan", "fee"] and shifted["score_psi"] > PSI_ALERT  # largest first
    # the textbook formula on two share vectors
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25 * np.log(0.5) * -1 + 0.25 * np.log(1.5))
    missing = drift(profile, same.assign(fee=np.nan))  # a feature that stopped arriving is a drift too
    assert "fee" in missing["drifted"]


def test_every_written_scoring_run_logs_its_monitoring_record_beside_the_model_version(churn_project, tmp_path):
    from kpredict.monitoring.record import monitoring_experiment
    from kpredict.scoring import score

    _, config, trained = churn_project
    result = score("churn", "2026-10-01", model=trained.model_version, config=config, output_dir=tmp_path)
    record = json.loads(result.manifest.read_text())["monitoring"]
    assert record["rows"] == len(result.frame) and record["contacted"] == int(result.frame["contact"].sum())
    found = record["drift"]
    assert set(found["feature_psi"]) == set(config_features(trained)) and found["score_psi"] is not None
    runs = mlflow.search_runs(experiment_names=[monitoring_experiment("churn")], filter_string="tags.`kpredict.as_of` = '2026-10-01'")
    run = runs.iloc[0]
    assert run["tags.kpredict.model_version"] == str(trained.model_version) and run["tags.kpredict.model_run_id"] == trained.run_id
    assert run["metrics.rows"] == record["rows"] and run["metrics.psi_max"] == pytest.approx(found["psi_max"])
    assert run["metrics.score_psi"] == pytest.approx(found["score_psi"])
    before = len(mlflow.search_runs(experiment_names=[monitoring_experiment("churn")]))
    in_memory = score("churn", "2026-10-01", model=trained.model_version, config=config, write=False)
    assert len(mlflow.search_runs(experiment_names=[monitoring_experiment("churn")])) == before  # only written runs are recorded
    assert len(in_memory.frame) == record["rows"]


def config_features(trained) -> list[str]:
    from kpredict.scoring.bundle import load_bundle

    spec = load_bundle("churn", trained.model_version).meta["feature_spec"]
    return [*spec["numeric"], *spec["categorical"]]


def test_a_price_change_shows_as_input_drift_on_the_fee(churn_project, small_demo, tmp_path, caplog):
    """The demo company raises every fee by 60 %: the scoring run after it flags monthly_fee."""
    from kpredict.scoring import score

    _, config, trained = churn_project
    shifted = tmp_path / "data"
    shutil.copytree(small_demo, shifted)
    subscriptions = pd.read_parquet(shifted / "subscriptions.parquet")
    subscriptions["monthly_fee"] *= 1.6
    subscriptions.to_parquet(shifted / "subscriptions.parquet", index=False)
    moved = config.model_copy(update={"data_dir": str(shifted), "feature_store_dir": str(tmp_path / "store")})
    moved.open_store().materialize(views=["customer_subscription"])  # the other views read the unchanged copies of their tables

    before = score("churn", "2026-10-01", model=trained.model_version, config=config, output_dir=tmp_path / "before")
    with caplog.at_level("WARNING", logger="kpredict.scoring.interface"):
        after = score("churn", "2026-10-01", model=trained.model_version, config=moved, output_dir=tmp_path / "after")
    psi_before = json.loads(before.manifest.read_text())["monitoring"]["drift"]["feature_psi"]
    record = json.loads(after.manifest.read_text())["monitoring"]["drift"]
    assert psi_before["monthly_fee"] < PSI_ALERT < record["feature_psi"]["monthly_fee"]
    assert "monthly_fee" in record["drifted"]
    assert "input drift" in caplog.text and "monthly_fee" in caplog.text


def _project_config(tmp_path: Path, name: str, config, **changes) -> Path:
    path = tmp_path / "configs" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    data = config.model_dump(mode="json")
    for key, value in changes.items():
        data[key] = value
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_evaluate_churn_checks_the_stored_scores_against_who_left(churn_project, small_demo, tmp_path):
    from kpredict.monitoring.evaluate import evaluate
    from kpredict.scoring import score

    _, config, trained = churn_project
    stored = score("churn", CHURN_PAST, model=trained.model_version, config=config, output_dir=tmp_path / "jobs")
    found = evaluate("churn", CHURN_PAST, source_dir=tmp_path / "jobs", config=config)
    # The reference: the generator's truth for that day, who left within 30 days and the best
    # probability the observable data allows.
    truth = pd.read_parquet(small_demo / "truth" / "churn.parquet")
    truth = truth[truth["snapshot_date"] == pd.Timestamp(CHURN_PAST)].merge(stored.frame[["customer_id"]], on="customer_id")
    from sklearn.metrics import roc_auc_score

    best = roc_auc_score(truth["churned_within_horizon"], truth["observable_churn_probability"])
    assert found.metrics["customers"] == len(truth) == len(stored.frame)
    assert found.metrics["positive_rate"] == pytest.approx(truth["churned_within_horizon"].mean())  # the right outcomes
    assert found.metric == "roc_auc" and 0.5 + 0.5 * (best - 0.5) < found.value <= best + 0.05
    assert found.metrics["capacity"] == stored.frame["contact"].sum()
    assert not found.stale and found.path.is_file()
    saved = json.loads(found.path.read_text())
    assert saved["model_version"] == str(trained.model_version) and saved["metrics"]["roc_auc"] == pytest.approx(found.value)
    runs = mlflow.search_runs(experiment_names=["kpredict-churn-monitoring"], filter_string="tags.`kpredict.kind` = 'evaluation'")
    assert runs.iloc[0]["metrics.realized_roc_auc"] == pytest.approx(found.value)

    # A threshold above what it reaches: stale, and the CLI exits 6 so a schedule can retrain.
    strict = _project_config(tmp_path, "churn", config, monitoring={"metric": "roc_auc", "threshold": min(found.value + 0.05, 0.999)})
    result = CliRunner().invoke(app, ["evaluate", "churn", "--as-of", CHURN_PAST, "--from", str(tmp_path / "jobs"), "--config", str(strict)])
    assert result.exit_code == 6, result.output
    assert "STALE: realized roc_auc" in " ".join(result.output.split())
    lenient = _project_config(tmp_path, "churn", config, monitoring={"metric": "roc_auc", "threshold": 0.5})
    ok = CliRunner().invoke(app, ["evaluate", "churn", "--as-of", CHURN_PAST, "--from", str(tmp_path / "jobs"), "--config", str(lenient)])
    assert ok.exit_code == 0 and "ok: realized roc_auc" in " ".join(ok.output.split())


def test_evaluate_says_when_outcomes_or_predictions_are_missing(churn_project, tmp_path):
    from kpredict.monitoring.evaluate import evaluate
    from kpredict.scoring import score

    _, config, trained = churn_project
    score("churn", "2026-10-20", model=trained.model_version, config=config, output_dir=tmp_path)
    with pytest.raises(DataNotFoundError, match=r"complete on 2026-11-19 \(30 days later\); the data .* ends on 2026-10-3"):
        evaluate("churn", "2026-10-20", source_dir=tmp_path, config=config)
    with pytest.raises(DataNotFoundError, match=r"no stored churn predictions as of 2026-08-01"):
        evaluate("churn", "2026-08-01", source_dir=tmp_path, config=config)
    result = CliRunner().invoke(app, ["evaluate", "nope", "--as-of", CHURN_PAST])
    assert result.exit_code == 2 and "The pipeline must be one of" in result.output


def test_evaluate_sales_compares_the_forecast_with_the_sales_that_came(sales_project, tmp_path):
    """Realized MASE and WAPE of the stored forecast beat the seasonal naive forecast made the same day
    (a single month: on the small demo the model wins 3 of the 4 mid-month dates checked on MASE, all 4 on WAPE)."""
    from kpredict.forecasting.metrics import forecast_metrics
    from kpredict.forecasting.series import ID, TARGET, TIME
    from kpredict.monitoring.evaluate import evaluate
    from kpredict.pipelines.sales_forecast.data import load_history
    from kpredict.scoring import score

    _, config, trained = sales_project
    stored = score("sales_forecast", SALES_PAST, model=trained.model_version, config=config, output_dir=tmp_path)
    found = evaluate("sales_forecast", SALES_PAST, source_dir=tmp_path, config=config)
    assert found.metric == "mase" and found.metrics["days_evaluated"] == found.metrics["days_forecast"] == 28
    assert 0.6 <= found.metrics["coverage_80"] <= 1 and found.metrics["coverage_95"] >= found.metrics["coverage_80"]

    series, _ = load_history(config, config.open_store())
    history = series[series[TIME] < pd.Timestamp(SALES_PAST)][[ID, TIME, TARGET]]
    last_week = history.groupby(ID).tail(7).assign(dow=lambda f: f[TIME].dt.dayofweek)
    naive = stored.frame[[ID, TIME]].assign(dow=lambda f: f[TIME].dt.dayofweek).merge(
        last_week[[ID, "dow", TARGET]].rename(columns={TARGET: "naive"}), on=[ID, "dow"])
    actual = series[series[TIME] >= pd.Timestamp(SALES_PAST)][[ID, TIME, TARGET]]
    reference = forecast_metrics(naive.merge(actual, on=[ID, TIME]), "naive", history, config.season_length)
    assert found.metrics["mase"] < reference["mase"] and found.metrics["wape"] < reference["wape"]


def test_evaluate_risk_measures_the_alerts_against_the_confirmed_anomalies(risk_project):
    """Alert precision against the demo's labelled anomalies beats alerting as many payments at random."""
    from kpredict.monitoring.evaluate import evaluate

    project, config, _, scored = risk_project
    found = evaluate("risk_anomaly", "2026-11-01", source_dir=scored.manifest.parent, output_dir=project / "evaluations", config=config)
    base_rate = found.metrics["anomalies"] / found.metrics["payments"]
    assert found.metric == "precision_at_budget" and found.value > 3 * base_rate
    assert 0 < found.metrics["recall_at_budget"] <= 1 and found.metrics["alerts_per_day"] > 0
    assert found.metrics["payments"] == len(scored.frame)


def _poached(small_demo: Path, folder: Path, start: pd.Timestamp) -> Path:
    """The small demo after a competitor's launch on ``start``: prices rise by half, and from then on
    the most active customers leave (a quarter of them a month) while the usual reasons stop counting."""
    data = folder / "data"
    shutil.copytree(small_demo, data)
    subscriptions = pd.read_parquet(data / "subscriptions.parquet")
    orders = pd.read_parquet(data / "orders.parquet", columns=["customer_id", "order_ts"])
    recent = orders[(orders["order_ts"] < start) & (orders["order_ts"] >= start - pd.Timedelta(days=90))].groupby("customer_id").size()
    active = (subscriptions["start_date"] < start) & (subscriptions["end_date"].isna() | (subscriptions["end_date"] >= start))
    count = subscriptions["customer_id"].map(recent).fillna(0)
    most_active = active & (count >= count[active].quantile(0.7))
    rng = np.random.default_rng(0)
    leaves = start + pd.to_timedelta(np.round(rng.exponential(30 / 0.25, len(subscriptions))), unit="D")
    subscriptions.loc[active, "end_date"] = pd.NaT
    subscriptions.loc[most_active, "end_date"] = leaves[most_active]
    subscriptions.loc[subscriptions["end_date"] > pd.Timestamp("2026-10-31"), "end_date"] = pd.NaT  # not known yet on the last day
    subscriptions["monthly_fee"] *= 1.5
    subscriptions.to_parquet(data / "subscriptions.parquet", index=False)
    return data


def test_after_a_shift_drift_and_realized_performance_both_flag_the_model(churn_project, small_demo, tmp_path):
    """The demo company changes after 2026-03-01; the model trained before it is scored on 2026-09-01:
    the fee shows as input drift, and 30 days later evaluate finds the model stale."""
    from kpredict.monitoring.evaluate import evaluate
    from kpredict.scoring import score

    _, config, trained = churn_project
    from kpredict.monitoring.settings import MonitoringSettings

    rule = MonitoringSettings(metric="roc_auc", threshold=0.65)
    data = _poached(small_demo, tmp_path, pd.Timestamp("2026-03-01"))
    shifted = config.model_copy(update={"data_dir": str(data), "feature_store_dir": str(tmp_path / "store"), "monitoring": rule})
    shifted.open_store().materialize(views=shifted.views)
    steady = config.model_copy(update={"monitoring": rule})

    verdicts, records = {}, {}
    for name, settings in (("steady", steady), ("shifted", shifted)):
        scored = score("churn", CHURN_PAST, model=trained.model_version, config=settings, output_dir=tmp_path / name)
        records[name] = json.loads(scored.manifest.read_text())["monitoring"]["drift"]
        verdicts[name] = evaluate("churn", CHURN_PAST, source_dir=tmp_path / name, config=settings)
    assert records["steady"]["feature_psi"]["monthly_fee"] < PSI_ALERT < records["shifted"]["feature_psi"]["monthly_fee"]
    assert not verdicts["steady"].stale and verdicts["shifted"].stale
    assert verdicts["shifted"].value < verdicts["steady"].value - 0.15


def test_evaluate_budget_predicts_the_kpi_of_the_weeks_after_the_plan(budget_project, tmp_path):
    """The model that made the plan predicts the KPI from the spend really made better than last
    quarter's average KPI does."""
    from kpredict.monitoring.evaluate import evaluate
    from kpredict.pipelines.budget.data import load_marketing
    from kpredict.scoring import score

    _, config, trained = budget_project
    as_of = pd.Timestamp("2026-08-01")
    score("budget", as_of, model=trained.model_version, config=config, output_dir=tmp_path, weeks=8)
    found = evaluate("budget", as_of, source_dir=tmp_path, config=config)
    assert found.metric == "nrmse" and found.metrics["weeks_evaluated"] == found.metrics["weeks_planned"] == 8
    assert 0 <= found.metrics["plan_adherence"] <= 1

    frame = load_marketing(config, config.open_store())
    week = frame[config.time_column]
    actual = frame.loc[(week >= as_of) & (week < as_of + pd.Timedelta(weeks=8)), config.kpi_column].to_numpy()
    naive = frame.loc[week < as_of, config.kpi_column].tail(13).mean()
    reference = np.sqrt(np.mean((actual - naive) ** 2)) / np.mean(np.abs(actual))
    assert found.metrics["actual_kpi"] == pytest.approx(actual.sum())
    assert found.value < reference


def test_the_sales_forecast_records_demand_drift_and_judges_it_only_on_enough_series(sales_project, tmp_path):
    """Its input drift is each series' recent demand against the training history's. The small demo
    has 24 series: the PSIs are recorded, not judged (ten bins over 24 values move by chance); with
    enough series a demand that falls by 70 % shows as drift of the level, not of the intermittency."""
    from kpredict.forecasting.series import ID, TARGET
    from kpredict.monitoring.drift import drift, reference_profile
    from kpredict.pipelines.sales_forecast.data import DEMAND_COLUMNS, load_history, recent_demand
    from kpredict.scoring import score

    _, config, trained = sales_project
    scored = score("sales_forecast", SALES_PAST, model=trained.model_version, config=config, output_dir=tmp_path)
    record = json.loads(scored.manifest.read_text())["monitoring"]["drift"]
    assert set(record["feature_psi"]) == set(DEMAND_COLUMNS) and record["judged"] is False and record["drifted"] == []

    series, _ = load_history(config, config.open_store(), before=pd.Timestamp(SALES_PAST))
    many = pd.concat([series.assign(**{ID: series[ID] + f"#{copy}"}) for copy in range(10)], ignore_index=True)  # 240 series
    profile = reference_profile(recent_demand(many, config.horizon), numeric=list(DEMAND_COLUMNS))
    steady = drift(profile, recent_demand(many, config.horizon))
    collapsed = drift(profile, recent_demand(many.assign(**{TARGET: many[TARGET] * 0.3}), config.horizon))
    assert steady["judged"] and steady["psi_max"] < 0.01 and steady["drifted"] == []
    assert collapsed["drifted"] == ["mean_sales_recent"]  # the level moved; the days without a sale did not


def test_after_the_shift_a_retrain_on_the_latest_snapshots_wins_the_gate(small_demo, tmp_path, monkeypatch):
    """What a scheduled job does once evaluate says stale: retrain on the latest snapshots only
    (``split.train_snapshots``), and the gate, re-scoring the champion on the new holdout, serves it.

    The champion learnt the demo company before the shift (the steady data); the challenger learns
    the shifted company; both are judged on the shifted company's latest labelled snapshot.
    """
    from conftest import load_churn_test_config

    from kpredict.pipelines.churn import PIPELINE
    from kpredict.tracking import resolve

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("KPREDICT_MODELS_DIR", str(tmp_path / "models"))
    gate = {"gate_metric": "roc_auc"}
    before = PIPELINE.train(load_churn_test_config(tmp_path / "before", small_demo, **gate))
    assert before.promoted and resolve("churn").version == before.model_version

    data = _poached(small_demo, tmp_path, pd.Timestamp("2026-03-01"))
    after = PIPELINE.train(load_churn_test_config(tmp_path / "after", data, **gate, **{"split.train_snapshots": 3}))
    assert after.promoted, after.promotion_reason
    assert "re-scored on the new holdout" in after.promotion_reason
    assert resolve("churn").version == after.model_version
    challenger, champion = map(float, re.search(r"roc_auc ([\d.]+) vs ([\d.]+)", after.promotion_reason).groups())
    print(f"on the shifted holdout: retrained {challenger:.3f}, champion from before the shift {champion:.3f}")
    assert challenger == pytest.approx(after.metrics["holdout_roc_auc"])
    assert challenger > champion + MARGIN
