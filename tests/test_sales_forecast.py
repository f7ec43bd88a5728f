"""The sales-forecast pipeline on the small demo: training, the gate, scoring and the replenishment table."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

from kpredict.cli.main import app
from kpredict.hashing import file_hash
from kpredict.scoring import score

AS_OF = "2026-11-01"


@pytest.fixture(scope="module")
def scored(sales_project, tmp_path_factory):
    _, config, _ = sales_project
    out_dir = tmp_path_factory.mktemp("sales_scored")
    return config, out_dir, score("sales_forecast", AS_OF, config=config, output_dir=out_dir)


def test_training_beats_seasonal_naive_and_registers_the_champion(sales_project):
    _, _, result = sales_project
    m = result.metrics
    assert m["holdout_mase"] < m["baseline_holdout_mase"]
    assert m["holdout_wape"] < m["baseline_holdout_wape"]
    from kpredict.tracking import resolve

    champion = resolve("sales_forecast", "champion")  # this run, or an equal one registered earlier in the session
    assert result.model_version >= 1 and champion.version <= result.model_version
    assert result.promoted or result.promotion_reason.startswith(("ties", "does not beat"))
    for level in (80, 95):  # conformal intervals from CV residuals hold on the holdout
        assert abs(m[f"holdout_coverage_{level}"] - level / 100) < 0.10
    selection = result.tables["selection"]
    assert set(selection.columns) >= {"unique_id", "demand_class", "model", "cv_mase", "chosen_by"}
    intermittent = selection[selection["demand_class"].isin(["intermittent", "lumpy"])]
    assert len(intermittent) > 0
    family = {"CrostonSBA", "ADIDA", "IMAPA", "TSB", "SeasonalNaive", "Naive", "LightGBM"}
    assert all(set(model.split("+")) <= family for model in intermittent["model"])


def test_run_logs_selection_table_plots_and_metrics(sales_project):
    import mlflow

    _, _, result = sales_project
    client = mlflow.MlflowClient()
    run = client.get_run(result.run_id)
    assert {"holdout_mase", "holdout_smape", "holdout_rmsse", "holdout_wape", "holdout_bias", "holdout_coverage_95",
            "holdout_width_80", "baseline_holdout_mase"} <= set(run.data.metrics)
    artifacts = {a.path for a in client.list_artifacts(result.run_id, "plots")} | {a.path for a in client.list_artifacts(result.run_id, "selection")}
    assert {"plots/sample_series.png", "plots/model_choice.png", "selection/selection.csv"} <= artifacts


def test_forecast_output_has_keys_standard_columns_and_h_rows_per_series(scored, small_demo):
    config, _, result = scored
    frame = pd.read_parquet(result.output)
    expected = ["store_id", "product_id", "unique_id", "ds", "as_of", "model_name", "model_version", "run_id", "yhat",
                "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95", "model"]
    assert list(frame.columns) == expected
    sales = pd.read_parquet(small_demo / "sales.parquet")
    n_series = sales.groupby(["store_id", "product_id"]).ngroups
    assert len(frame) == n_series * config.horizon
    assert frame.groupby("unique_id")["ds"].agg(["min", "max", "size"]).eq(
        [pd.Timestamp(AS_OF), pd.Timestamp(AS_OF) + pd.Timedelta(days=config.horizon - 1), config.horizon]).all().all()
    assert (frame["yhat"] >= 0).all() and (frame["yhat_lo_95"] >= 0).all()
    assert frame["unique_id"].eq(frame["store_id"] + "/" + frame["product_id"]).all()


def test_replenishment_follows_the_formula(scored, small_demo):
    config, _, result = scored
    forecast = pd.read_parquet(result.output)
    table = pd.read_parquet(result.output.with_name(result.output.stem + ".replenishment.parquet"))
    inventory = pd.read_parquet(small_demo / "inventory.parquet")
    last = inventory[inventory["date"] < AS_OF].sort_values("date").groupby(["store_id", "product_id"]).tail(1)
    merged = table.merge(last, on=["store_id", "product_id"], suffixes=("", "_truth"))
    assert np.allclose(merged["on_hand"], merged["on_hand_truth"])
    row = table.iloc[0]
    days = forecast[forecast["unique_id"] == row["unique_id"]].sort_values("ds").head(config.replenishment.lead_time)
    sigma = (days["yhat_hi_95"] - days["yhat"]) / norm.ppf(0.975)
    safety = norm.ppf(config.replenishment.service_level) * np.sqrt((sigma**2).sum())
    expected = np.ceil(max(0.0, days["yhat"].sum() + safety - row["on_hand"]) - 1e-6)
    assert row["order_quantity"] == pytest.approx(expected, abs=1)
    assert (table["order_quantity"] >= 0).all() and table["order_quantity"].eq(np.floor(table["order_quantity"])).all()


def test_rerun_gives_identical_bytes_and_manifest_lists_both_tables(scored):
    config, out_dir, result = scored
    again = score("sales_forecast", AS_OF, config=config, output_dir=out_dir)
    assert file_hash(again.output) == file_hash(result.output)
    manifest = json.loads(again.manifest.read_text())
    assert manifest["companion_files"]["replenishment"]["sha256"] == file_hash(again.output.with_name(again.output.stem + ".replenishment.parquet"))
    assert manifest["counts"]["rows"] == len(result.frame) and manifest["input"]["series"] > 0
    assert len(manifest["input"]["data_hash"]) == 64 and "store_product_inventory" in manifest["input"]["feature_views"]


def test_cli_scores_and_a_missing_model_exits_3(sales_project, tmp_path):
    _, config, _ = sales_project
    path = tmp_path / "sales.yaml"
    import yaml

    path.write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    runner = CliRunner()
    done = runner.invoke(app, ["score", "sales_forecast", "--as-of", AS_OF, "--config", str(path), "--output-dir", str(tmp_path), "--out", "f.csv"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "f.csv").exists() and (tmp_path / "f.replenishment.csv").exists()
    missing = runner.invoke(app, ["score", "sales_forecast", "--as-of", AS_OF, "--config", str(path), "--output-dir", str(tmp_path), "--model", "999", "--out", "g.csv"])
    assert missing.exit_code == 3 and not (tmp_path / "g.csv").exists()


def test_registered_model_forecasts_through_mlflow_without_pickle(sales_project, tmp_path):
    from kpredict.pipelines.sales_forecast.data import load_history

    _, config, _ = sales_project
    history, _ = load_history(config, config.open_store())
    sample = history[history["unique_id"].isin(sorted(history["unique_id"].unique())[:3])]
    sample.to_parquet(tmp_path / "history.parquet", index=False)
    code = (
        "import mlflow, pandas as pd\n"
        "m = mlflow.pyfunc.load_model('models:/kpredict-sales_forecast@champion')\n"
        f"p = m.predict(pd.read_parquet({str(tmp_path / 'history.parquet')!r}))\n"
        f"p.to_parquet({str(tmp_path / 'pred.parquet')!r})\n"
    )
    env = dict(os.environ, MLFLOW_ALLOW_PICKLE_DESERIALIZATION="false")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    predicted = pd.read_parquet(tmp_path / "pred.parquet")
    assert len(predicted) == 3 * config.horizon and np.isfinite(predicted["yhat"]).all()


def test_duplicate_rows_in_the_history_are_refused_naming_the_series(sales_project, tmp_path):
    from kpredict.errors import SchemaError
    from kpredict.pipelines.sales_forecast.data import load_history
    from conftest import load_sales_test_config

    _, config, _ = sales_project
    sales = pd.read_parquet(os.path.join(config.data_dir, "sales.parquet"))
    data = tmp_path / "data"
    data.mkdir()
    for name in ("holidays", "promotions", "inventory"):
        pd.read_parquet(os.path.join(config.data_dir, f"{name}.parquet")).to_parquet(data / f"{name}.parquet")
    pd.concat([sales, sales.head(1)]).to_parquet(data / "sales.parquet")
    broken = load_sales_test_config(tmp_path, data)
    with pytest.raises(SchemaError, match="S001/P0001"):
        load_history(broken, broken.open_store())


def test_planned_promotions_reach_the_global_model_past_and_future(sales_project):
    """The calendar's discounts are the covariate on promotion days (also weeks past the data), 0 otherwise."""
    from kpredict.datasets import DEMO_END
    from kpredict.forecasting import Forecaster
    from kpredict.pipelines.sales_forecast.data import future_covariates
    from kpredict.scoring.bundle import load_bundle

    _, config, _ = sales_project
    assert "promo_discount" in config.global_model.known_future
    calendar = pd.read_parquet(os.path.join(config.data_dir, "promotions.parquet"))
    planned = calendar[calendar["start_date"] > pd.Timestamp(DEMO_END)].iloc[0]
    uid = f"{planned['store_id']}/{planned['product_id']}"
    days = pd.date_range(planned["start_date"] - pd.Timedelta(days=3), periods=14, freq="D")
    covariates = future_covariates(config, config.open_store(), pd.DataFrame({"unique_id": uid, "ds": days}))
    mine = calendar[(calendar["store_id"] == planned["store_id"]) & (calendar["product_id"] == planned["product_id"])]
    expected = [mine.loc[(mine["start_date"] <= day) & (day <= mine["end_date"]), "discount"].max() for day in days]
    assert np.allclose(covariates["promo_discount"], np.nan_to_num(np.array(expected, dtype=float)))
    assert (covariates["promo_discount"][(days >= planned["start_date"]) & (days <= planned["end_date"])] == planned["discount"]).all()
    flagged = config.model_copy(update={"global_model": config.global_model.model_copy(update={"known_future": ["promo"]})})
    flags = future_covariates(flagged, flagged.open_store(), pd.DataFrame({"unique_id": uid, "ds": days}))
    assert list(flags.columns) == ["unique_id", "ds", "promo"]
    assert np.array_equal(flags["promo"].to_numpy(), pd.notna(np.array(expected, dtype=float)).astype(float))

    forecaster = Forecaster.from_artifacts(load_bundle("sales_forecast").directory)
    booster = forecaster.global_.booster_
    gain = dict(zip(booster.feature_name(), booster.feature_importance("gain"), strict=True))
    assert gain["promo_discount"] > 0  # the trees split on it


def test_a_promotion_calendar_with_reversed_dates_is_refused_naming_the_source(sales_project, tmp_path):
    from kpredict.errors import SchemaError
    from kpredict.pipelines.sales_forecast.data import future_covariates
    from conftest import load_sales_test_config

    _, config, _ = sales_project
    data = tmp_path / "data"
    data.mkdir()
    pd.read_parquet(os.path.join(config.data_dir, "holidays.parquet")).to_parquet(data / "holidays.parquet")  # the other known-future source
    calendar = pd.read_parquet(os.path.join(config.data_dir, "promotions.parquet"))
    calendar.loc[0, "end_date"] = calendar.loc[0, "start_date"] - pd.Timedelta(days=1)
    calendar.to_parquet(data / "promotions.parquet")
    broken = load_sales_test_config(tmp_path, data)
    index = pd.DataFrame({"unique_id": ["S001/P0001"], "ds": [pd.Timestamp("2026-11-01")]})
    with pytest.raises(SchemaError, match="promotions.*1 row"):
        future_covariates(broken, broken.open_store(), index)


def test_a_retrain_on_newer_data_moves_the_champion_only_when_it_is_better(small_demo, tmp_path, monkeypatch):
    """The monthly retrain: the champion, judged on an older holdout, is re-scored on the new one.

    v1 (a weak recipe, data cut 28 days early) becomes champion; v2 (the real recipe, all the data,
    trained through ``kpredict train sales_forecast --trials 5``, which pipelines without a search
    ignore) beats it on the new holdout and takes over; v3 (weak again, the early cut) does not.
    """
    import shutil

    import mlflow
    import yaml

    from kpredict.pipelines.sales_forecast import PIPELINE
    from kpredict.tracking import resolve

    early = tmp_path / "early"
    shutil.copytree(small_demo, early)
    sales = pd.read_parquet(early / "sales.parquet")
    sales[pd.to_datetime(sales["date"]) < pd.Timestamp("2026-10-04")].to_parquet(early / "sales.parquet", index=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    from conftest import load_sales_test_config

    quick = {"global_model.enabled": False, "intermittent_models": [], "cv.windows": 3, "sample_plots": 1}
    weak = {**quick, "models": [], "baselines": ["Naive"]}
    try:
        first = PIPELINE.train(load_sales_test_config(tmp_path, early, **weak))
        assert first.promoted

        strong = load_sales_test_config(tmp_path, small_demo, **quick, models=[{"model": "AutoETS", "params": {"model": "ZNA"}}])
        (tmp_path / "strong.yaml").write_text(yaml.safe_dump(strong.model_dump(mode="json")), encoding="utf-8")
        done = CliRunner().invoke(app, ["train", "sales_forecast", "--config", str(tmp_path / "strong.yaml"), "--trials", "5"])
        assert done.exit_code == 0, done.output
        assert "has no tuning search; --trials is ignored" in done.output
        assert "registered version 2; beats champion version 1" in done.output and "re-scored on the new holdout" in done.output
        assert resolve("sales_forecast").version == 2

        third = PIPELINE.train(load_sales_test_config(tmp_path, early, **weak))
        assert not third.promoted and "re-scored on the new holdout" in third.promotion_reason
        assert third.promotion_reason.startswith("does not beat champion version 2")
        assert resolve("sales_forecast").version == 2
    finally:
        mlflow.set_tracking_uri(None)


def test_a_preset_fills_in_what_the_config_file_leaves_out():
    from kpredict.forecasting.presets import PRESETS
    from kpredict.pipelines.sales_forecast.config import SalesForecastConfig
    from kpredict.pipelines.sales_forecast.train import forecaster_settings

    own = forecaster_settings(SalesForecastConfig())
    assert own.models[0] == {"model": "AutoETS", "params": {"model": "ZNA"}} and own.short_models == [{"model": "AutoETS"}, {"model": "AutoTheta"}]
    daily = forecaster_settings(SalesForecastConfig(preset="daily", horizon=28, selection={"strategy": "ensemble", "top_k": 2}))
    assert daily.models == PRESETS["daily"]["models"] and daily.baselines == PRESETS["daily"]["baselines"]
    assert (daily.cv_step, daily.cv_input_size, daily.season_length) == (PRESETS["daily"]["cv_step"], PRESETS["daily"]["cv_input_size"], 7)
    assert (daily.selection, daily.top_k, daily.horizon, daily.freq) == ("ensemble", 2, 28, "D")  # the file's own keys win
    hourly = forecaster_settings(SalesForecastConfig(preset="hourly", series={"freq": "h"}, horizon=48))
    assert hourly.cv_input_size == PRESETS["hourly"]["cv_input_size"] == 1008  # a preset's span reaches the settings
    weekly = forecaster_settings(SalesForecastConfig(preset="weekly", series={"freq": "W-MON"}, horizon=13))
    assert weekly.season_length == 52 and weekly.freq == "W-MON" and weekly.selection == PRESETS["weekly"]["selection"]
