"""The "your own data" guides (docs/own-data/), run as a new user copies them, on public tables.

Each guide's ```bash blocks run in order in an empty folder holding the table the guide names
(cut from the shared data sets as a user would export it), with a new user's environment: no
MLflow or store variables, the models in ./models, the outputs in ./output. A ```text block shows
what the run prints; its lines must appear in what the run printed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import shared_data

REPO = Path(__file__).resolve().parents[1]
GUIDES = REPO / "docs" / "own-data"


def blocks(guide: str, kind: str) -> list[str]:
    """The guide's fenced blocks of ``kind`` (bash, text), in order."""
    return re.findall(rf"```{kind}\n(.*?)```", (GUIDES / guide).read_text(encoding="utf-8"), flags=re.S)


def run_guide(guide: str, folder: Path) -> str:
    """Run every bash block of ``guide`` in ``folder``; what it printed (stdout + stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "KPREDICT_MODELS_DIR")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    printed = ""
    for block in blocks(guide, "bash"):
        done = subprocess.run(["bash", "-e", "-c", block], cwd=folder, env=env, capture_output=True, text=True, timeout=1200)
        printed += done.stdout + done.stderr
        assert done.returncode == 0, f"{guide}: {block}\n" + done.stdout[-2000:] + done.stderr[-4000:]
    shown = [line.strip() for line in "".join(blocks(guide, "text")).splitlines() if line.strip()]
    for line in shown:
        assert line in printed, f"{guide} shows a line the run did not print: {line}"
    return printed


@pytest.mark.slow
def test_the_sales_guide_runs_as_written(tmp_path) -> None:
    table = pd.read_csv(shared_data("forecasting/store_item/train.csv"), parse_dates=["date"])
    table = table[(table["store"] <= 2) & (table["item"] <= 5) & (table["date"] >= "2016-01-01")]
    table.assign(date=table["date"].dt.strftime("%Y-%m-%d")).to_csv(tmp_path / "sales.csv", index=False)
    printed = run_guide("sales_forecast.md", tmp_path)
    forecast = pd.read_parquet(tmp_path / "output" / "sales_forecast_2018-01-01.parquet")
    assert len(forecast) == 10 * 14 and forecast["ds"].min() == pd.Timestamp("2018-01-01")
    assert {"store", "item", "yhat", "yhat_lo_95", "yhat_hi_95", "model"} <= set(forecast.columns)
    assert "promoted to champion" in printed


@pytest.mark.slow
def test_the_budget_guide_runs_as_written(tmp_path) -> None:
    shutil.copy(shared_data("budget/dt_simulated_weekly.csv"), tmp_path / "spend.csv")
    run_guide("budget.md", tmp_path)
    plan = pd.read_parquet(tmp_path / "output" / "budget_2019-11-18.parquet")
    assert list(plan["channel"]) == ["tv_S", "ooh_S", "print_S", "facebook_S", "search_S"]
    assert plan["contribution_share"].sum() == pytest.approx(1.0)
    assert (plan["contribution_share_lo"] <= plan["contribution_share"]).all() and (plan["contribution_share"] <= plan["contribution_share_hi"]).all()


@pytest.mark.slow
def test_the_risk_guide_runs_as_written(tmp_path) -> None:
    shutil.copy(shared_data("transactions/cdnow/CDNOW_master.txt"), tmp_path / "CDNOW_master.txt")
    printed = run_guide("risk_anomaly.md", tmp_path)
    assert "dates without a time of day" in printed
    scored = pd.read_parquet(tmp_path / "output" / "risk_anomaly_1998-07-01.parquet")
    alerts = pd.read_parquet(tmp_path / "output" / "risk_anomaly_1998-07-01.alerts.parquet")
    assert len(scored) > 1000 and 0 < len(alerts) <= 0.02 * len(scored)
    assert (alerts["reason_1_en"].str.len() > 0).all() and (alerts["reason_1_zh"].str.len() > 0).all()


@pytest.mark.slow
def test_the_churn_guide_runs_as_written(tmp_path) -> None:
    shutil.copy(shared_data("churn/Telco-Customer-Churn.csv"), tmp_path / "customers.csv")
    printed = run_guide("churn.md", tmp_path)
    scored = pd.read_parquet(tmp_path / "output" / "churn_2026-12-01.parquet")
    assert len(scored) == 7043 and scored["reason_1_zh"].notna().any()
    assert "promoted to champion" in printed
