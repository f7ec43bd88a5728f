"""The budget pipeline on the small demo: training against OLS, registration and charts, the
recommended split through ``kpredict score budget``, candidate plans, and the errors a user meets."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kpredict.cli.main import app
from kpredict.errors import ConfigError, DataNotFoundError, InfeasibleAllocationError, SchemaError
from kpredict.hashing import file_hash

from conftest import budget_config

REPO = Path(__file__).resolve().parents[1]
def _config_file(config, path: Path, **changes) -> Path:
    import yaml

    data = config.model_dump(mode="json")
    for dotted, value in changes.items():
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_training_beats_ols_out_of_time_and_logs_contributions_and_charts(budget_project):
    _project, config, result = budget_project
    m = result.metrics
    assert m["holdout_r2"] > m["baseline_holdout_r2"] and m["holdout_nrmse"] < m["baseline_holdout_nrmse"]
    # the monotone LightGBM alternative is measured on the same holdout beside the stored ridge
    assert m["ridge_holdout_nrmse"] == m["holdout_nrmse"] and np.isfinite(m["lightgbm_holdout_nrmse"])
    channels = result.tables["channels"]
    assert list(channels["channel"]) == list(config.channels)
    assert (channels["contribution"] >= 0).all() and (channels["contribution_lo"] <= channels["contribution"] + 1e-6).all()
    assert channels["spend_share"].sum() == pytest.approx(1.0)
    assert m["bootstrap_refits"] == 8
    artifacts = {a.path for a in mlflow.artifacts.list_artifacts(run_id=result.run_id, artifact_path="plots")}
    assert {f"plots/{chart}_{lang}.png" for chart in ("decomposition", "response_curves", "roi") for lang in ("en", "zh")} <= artifacts
    assert result.promoted


def test_the_same_config_gives_the_same_model(budget_project):
    from kpredict.pipelines.budget import PIPELINE

    _project, config, result = budget_project
    again = PIPELINE.train(config)
    keys = ["holdout_r2", "holdout_nrmse", "cv_rmse", *[f"{c}_decay" for c in config.channels], *[f"{c}_roi" for c in config.channels]]
    assert {k: again.metrics[k] for k in keys} == {k: result.metrics[k] for k in keys}


def test_the_recommended_split_sums_to_the_budget_and_reruns_give_the_same_bytes(budget_project):
    from kpredict.scoring import score

    project, config, result = budget_project
    first = score("budget", "2026-11-01", model=result.model_version, config=config, output_dir=project / "out", budget=500000, weeks=8)
    plan = first.frame
    expected = ["channel", "as_of", "model_name", "model_version", "run_id", "current_spend", "recommended_spend", "change",
                "last_period_spend", "expected_kpi", "kpi_lo", "kpi_hi", "expected_uplift", "uplift_lo", "uplift_hi", "marginal_roi",
                "contribution_share", "contribution_share_lo", "contribution_share_hi"]
    assert list(plan.columns) == expected
    assert (plan["contribution_share_lo"] <= plan["contribution_share"]).all() and (plan["contribution_share"] <= plan["contribution_share_hi"]).all()
    assert plan["recommended_spend"].sum() == pytest.approx(500000) and plan["current_spend"].sum() == pytest.approx(500000)
    assert (plan["recommended_spend"] >= 0).all()
    summary = first.companions["summary"].iloc[0]
    assert summary["expected_uplift"] >= -1e-6  # never worse than the current split it could have kept
    assert summary["expected_uplift"] == pytest.approx(plan["expected_uplift"].sum())
    assert summary["uplift_lo"] <= summary["expected_uplift"] <= summary["uplift_hi"] or summary["refits"] == 0
    again = score("budget", "2026-11-01", model=result.model_version, config=config, output_dir=project / "out", budget=500000, weeks=8)
    assert file_hash(again.output) == file_hash(first.output)
    # without --budget: the last weeks' actual spend
    default = score("budget", "2026-11-01", model=result.model_version, config=config, write=False)
    assert default.frame["recommended_spend"].sum() == pytest.approx(default.frame["last_period_spend"].sum())


def test_a_risk_aware_split_keeps_the_budget_and_says_what_it_maximised(budget_project):
    """allocation.risk_quantile: the split maximises a low quantile of the KPI across the refits
    (the optimisation itself is checked in test_media_model)."""
    from kpredict.scoring import score

    project, config, result = budget_project
    cautious_config = config.model_copy(update={"allocation": config.allocation.model_copy(update={"risk_quantile": 0.2})})
    expected = score("budget", "2026-11-01", model=result.model_version, config=config, write=False, budget=500000, weeks=8)
    cautious = score("budget", "2026-11-01", model=result.model_version, config=cautious_config, write=False, budget=500000, weeks=8)
    assert cautious.frame["recommended_spend"].sum() == pytest.approx(500000) and (cautious.frame["recommended_spend"] >= 0).all()
    assert cautious.companions["summary"].iloc[0]["objective"] == "quantile 0.2"
    assert expected.companions["summary"].iloc[0]["objective"] == "expected"
    averaged_config = config.model_copy(update={"allocation": config.allocation.model_copy(update={"average_refits": True})})
    averaged = score("budget", "2026-11-01", model=result.model_version, config=averaged_config, write=False, budget=500000, weeks=8)
    assert averaged.companions["summary"].iloc[0]["objective"] == "expected over refits"
    assert averaged.frame["recommended_spend"].sum() == pytest.approx(500000)
    with pytest.raises(ConfigError, match="risk_quantile"):
        budget_config(project, config.data_dir, **{"allocation.risk_quantile": 0.9})


def test_each_channel_stays_within_the_share_range_of_its_past_spend_unless_the_user_bound_says_otherwise(budget_project):
    """allocation.share_range: each channel's weekly spend within [low, high] x its share of past
    spend x the weekly budget (where its curve was read), widened to hold the current split; an
    explicit minimum or maximum wins over it; a range that excludes the past split is refused."""
    from kpredict.pipelines.budget.data import load_marketing
    from kpredict.pipelines.budget.scoring import allocation_bounds

    from kpredict.scoring import score

    project, config, result = budget_project
    spend = load_marketing(config, config.open_store(), before=pd.Timestamp("2026-11-01"))[list(config.channels)].to_numpy()
    share = spend.sum(axis=0) / spend.sum()
    for budget in (500000.0, 2000000.0):  # four times the usual weekly spend too: the range scales with the budget
        plan = score("budget", "2026-11-01", model=result.model_version, config=config, write=False, budget=budget, weeks=8).frame
        recommended, current = plan["recommended_spend"].to_numpy(), plan["current_spend"].to_numpy()
        assert recommended.sum() == pytest.approx(budget)
        assert (recommended >= np.minimum(0.7 * share * budget, current) - 1e-6).all()
        assert (recommended <= np.maximum(1.5 * share * budget, current) + 1e-6).all()
    pinned = config.model_copy(update={"allocation": config.allocation.model_copy(update={"min_weekly": {"display": 30000.0}})})
    display = list(config.channels).index("display")
    assert 1.5 * share[display] * 200000.0 < 30000.0
    lower, upper = allocation_bounds(pinned, list(config.channels), spend[-8:].mean(axis=0), share, 200000.0)
    assert lower[display] == upper[display] == 30000.0  # above the range's 1.5 x share: the user's minimum wins
    lower, upper = allocation_bounds(pinned, list(config.channels), spend[-8:].mean(axis=0), share, 60000.0)
    assert lower[display] == 30000.0 and np.isinf(upper).all()  # the range would leave too little for the others: dropped
    with pytest.raises(ConfigError, match="share_range"):
        budget_config(project, config.data_dir, **{"allocation.share_range": [1.2, 2.0]})


def test_candidate_plans_get_their_expected_kpi_with_an_interval(budget_project, tmp_path):
    from kpredict.scoring import score

    _project, config, result = budget_project
    # without the share range the recommendation is the model's optimum over every split of the
    # budget, so no candidate (all on TV is far outside the range) can be expected to beat it
    config = config.model_copy(update={"allocation": config.allocation.model_copy(update={"share_range": None})})
    plans = pd.DataFrame({"plan": ["all_tv", "even"], "tv": [100000.0, 20000.0], "radio": [0.0, 20000.0], "search": [0.0, 20000.0], "social": [0.0, 20000.0], "display": [0.0, 20000.0]})
    plans.to_csv(tmp_path / "plans.csv", index=False)
    scored = score("budget", "2026-11-01", model=result.model_version, config=config, write=False, budget=100000, weeks=4, scenario=str(tmp_path / "plans.csv"))
    table = scored.companions["scenarios"]
    assert list(table["plan"]) == ["all_tv", "even"] and (table["total_spend"] == 100000).all()
    best = scored.companions["summary"].iloc[0]["expected_kpi"]
    assert (table["expected_kpi"] <= best + 1e-6).all()  # no candidate beats the recommendation
    bad = plans.rename(columns={"display": "billboards"})
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(SchemaError, match=r"unknown: \['billboards'\]; missing: \['display'\]"):
        score("budget", "2026-11-01", model=result.model_version, config=config, write=False, budget=100000, scenario=str(tmp_path / "bad.csv"))
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(SchemaError, match=r"scenario file .*empty\.csv is empty"):
        score("budget", "2026-11-01", model=result.model_version, config=config, write=False, budget=100000, scenario=str(tmp_path / "empty.csv"))


def test_the_cli_reports_bad_requests_with_exit_2_and_impossible_ones_with_exit_4(budget_project, tmp_path):
    _project, config, result = budget_project
    path = _config_file(config, tmp_path / "budget.yaml")
    base = ["score", "budget", "--as-of", "2026-11-01", "--config", str(path), "--output-dir", str(tmp_path / "out"), "--model", str(result.model_version)]
    runner = CliRunner()
    for value in ("0", "-5", "abc", "nan"):
        done = runner.invoke(app, [*base, "--budget", value])
        assert done.exit_code == 2, (value, done.output)
        assert "budget" in done.output
    done = runner.invoke(app, [*base, "--budget", "100000", "--weeks", "0"])
    assert done.exit_code == 2 and "weeks" in done.output
    tight = _config_file(config, tmp_path / "tight.yaml", **{"allocation.min_weekly": {"tv": 50000.0, "radio": 20000.0}})
    done = runner.invoke(app, [*base[:5], str(tight), *base[6:], "--budget", "100000", "--weeks", "2"])
    assert done.exit_code == 4, done.output
    assert "40,000.00 more than the budget" in done.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing written
    done = runner.invoke(app, [*base, "--budget", "100000"])
    assert done.exit_code == 0, done.output


def test_config_errors_name_the_unknown_channel(small_demo, tmp_path):
    with pytest.raises(ConfigError, match=r"allocation.min_weekly names unknown channel\(s\) \['billboards'\]"):
        budget_config(tmp_path, small_demo, **{"allocation.min_weekly": {"billboards": 10.0}})
    with pytest.raises(ConfigError, match="carry-over bounds must satisfy"):
        budget_config(tmp_path, small_demo, **{"carryover.decay": [0.5, 1.2]})
    with pytest.raises(ConfigError, match="synergies need the ridge"):
        budget_config(tmp_path, small_demo, regression="lightgbm", interactions="search")


def test_measured_lift_tests_calibrate_the_model_and_their_fit_is_reported(small_demo, tmp_path):
    """The demo ships five experiments (one per channel, dates as weeks): the trained model says
    what it predicts each one measured, the run logs that table, and the stored model scores."""
    from kpredict.pipelines.budget import PIPELINE
    from kpredict.scoring import score

    config = budget_config(tmp_path, small_demo, lift_tests="marketing_lift_tests.parquet", **{"bootstrap.n_boot": 2})
    result = PIPELINE.train(config)
    table = result.tables["lift_tests"]
    measured = pd.read_parquet(small_demo / "marketing_lift_tests.parquet")
    assert list(table["channel"]) == list(measured["channel"]) and (table["start"].to_numpy() == measured["start"].to_numpy()).all()
    assert np.allclose(table["miss_in_se"], (table["predicted_lift"] - table["lift"]) / table["lift_se"])
    assert result.metrics["lift_tests"] == 5 and result.metrics["lift_tests_within_2se"] >= 3
    logged = {a.path for a in mlflow.artifacts.list_artifacts(run_id=result.run_id)}
    assert "lift_tests.json" in logged
    plan = score("budget", "2026-11-01", model=result.model_version, config=config, write=False, weeks=4).frame
    assert plan["recommended_spend"].sum() == pytest.approx(plan["current_spend"].sum())


def test_lift_test_files_with_unknown_weeks_channels_or_columns_are_refused_by_name(small_demo, tmp_path):
    from kpredict.pipelines.budget.data import load_lift_tests, load_marketing

    measured = pd.read_parquet(small_demo / "marketing_lift_tests.parquet")
    config = budget_config(tmp_path, small_demo)
    frame = load_marketing(config, config.open_store())
    cases = {
        "wrong_week.csv": (measured.assign(start=measured["start"] + pd.Timedelta(days=2)), r"wrong_week\.csv'?, row 1: start .* is not one of the data's weeks"),
        "no_se.csv": (measured.drop(columns="lift_se"), r"no_se\.csv'? lacks column\(s\) \['lift_se'\]"),
        "billboards.csv": (measured.assign(channel="billboards"), r"unknown channel\(s\) \['billboards'\]"),
        "text_lift.csv": (measured.assign(lift="big"), r"column 'lift' must hold a number"),
    }
    for name, (table, message) in cases.items():
        table.to_csv(tmp_path / name, index=False)
        with pytest.raises(SchemaError, match=message):
            load_lift_tests(config.model_copy(update={"lift_tests": str(tmp_path / name)}), frame)
    with pytest.raises(DataNotFoundError, match=r"nowhere\.csv does not exist; set lift_tests: null in the budget config when there are no experiments"):
        load_lift_tests(config.model_copy(update={"lift_tests": "nowhere.csv"}), frame)
    with pytest.raises(ConfigError, match="lift_tests calibrate the ridge"):
        budget_config(tmp_path, small_demo, lift_tests="marketing_lift_tests.parquet", regression="lightgbm")


def test_limits_from_the_config_bound_every_channel(budget_project):
    from kpredict.scoring import score

    _project, config, result = budget_project
    limited = config.model_copy(update={"allocation": config.allocation.model_copy(update={"min_weekly": {"search": 3000.0}, "max_weekly": {"tv": 5000.0}, "max_change": None})})
    plan = score("budget", "2026-11-01", model=result.model_version, config=limited, write=False, budget=200000, weeks=4).frame.set_index("channel")
    assert plan.loc["search", "recommended_spend"] >= 12000 - 1e-6 and plan.loc["tv", "recommended_spend"] <= 20000 + 1e-6
    changed = config.model_copy(update={"allocation": config.allocation.model_copy(update={"max_change": 0.2})})
    plan = score("budget", "2026-11-01", model=result.model_version, config=changed, write=False, weeks=4).frame
    last, recommended = plan["last_period_spend"].to_numpy(), plan["recommended_spend"].to_numpy()
    assert (recommended >= 0.8 * last - 1e-6).all() and (recommended <= 1.2 * last + 1e-6).all()  # a channel that was off stays off
    with pytest.raises(InfeasibleAllocationError):
        score("budget", "2026-11-01", model=result.model_version, config=changed, write=False, weeks=4, budget=float(plan["last_period_spend"].sum() * 2))


def test_rows_without_time_order_are_modelled_without_carry_over(tmp_path):
    """Cross-sectional data (one row per market) is accepted: no lags, shuffled folds, a random holdout."""
    from kpredict.pipelines.budget.data import design
    from kpredict.pipelines.budget.train import folds, split_holdout

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"tv": rng.uniform(0, 300, 60), "radio": rng.uniform(0, 50, 60)})
    frame["sales"] = 3 + 0.05 * frame["tv"] + 0.2 * frame["radio"]
    from kpredict.pipelines.budget import BudgetConfig

    config = BudgetConfig(time_column=None, kpi_column="sales", channels={"tv": "tv", "radio": "radio"}, controls=[])
    d = design(config, frame, None)
    assert d.max_lag == 0 and list(d.X.columns) == ["tv__lag0", "radio__lag0"]
    _learn, held = split_holdout(config, 60)
    assert len(held) == 12 and not np.array_equal(held, np.arange(48, 60))
    assert any(np.any(np.diff(test) > 1) for _, test in folds(config, 48))  # shuffled folds, not blocks of rows


def test_the_registered_model_loads_without_pickle_and_predicts_as_in_memory(budget_project, monkeypatch):
    from kpredict.pipelines.budget.data import design, load_marketing

    from kpredict.scoring.packaging import load_packaged_directory

    _project, config, result = budget_project
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    uri = f"models:/kpredict-budget/{result.model_version}"
    model = load_packaged_directory(Path(mlflow.artifacts.download_artifacts(uri)))
    frame = load_marketing(config, config.open_store())
    d = design(config, frame, frame["week"].min())
    assert len(model.refits) == 8 and model.channels == list(config.channels)
    # the kept model has the refits' median carry-over, and the channel table reports it
    for channel in model.channels:
        median = float(np.median([refit.decay[channel] for refit in model.refits]))
        assert model.point.decay[channel] == pytest.approx(median)
        assert result.metrics[f"{channel}_decay"] == pytest.approx(median)
    served = mlflow.pyfunc.load_model(uri).predict(d.X.tail(10))
    assert np.allclose(served["kpi"].to_numpy(), model.predict(d.X.tail(10)))
    assert np.allclose(d.y[-10:], model.predict(d.X.tail(10)), rtol=0.1)


def test_the_dask_engine_gives_the_same_plan_as_the_local_engine(budget_project):
    from kpredict.scoring import score

    _project, config, result = budget_project
    local = score("budget", "2026-11-01", model=result.model_version, config=config, write=False, budget=100000, weeks=4)
    distributed = score("budget", "2026-11-01", model=result.model_version, config=config, write=False, budget=100000, weeks=4, engine="dask")
    pd.testing.assert_frame_equal(distributed.frame, local.frame)
    pd.testing.assert_frame_equal(distributed.companions["summary"], local.companions["summary"])
