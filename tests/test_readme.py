"""The README's commands, run as a new user copies them (a block that says a test runs it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]


def _block_after(phrase: str) -> str:
    """The first ```bash block after ``phrase`` in the README."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index(phrase)
    return re.search(r"```bash\n(.*?)```", text[start:], flags=re.S).group(1)


def test_the_mlflow_predict_example_runs_as_written(churn_project, tmp_path):
    """Export the champion's features, score them with ``mlflow models predict``: as in the README,
    from a project folder whose store is ``models/mlflow.db`` and whose configs point at the data."""
    _, config, _ = churn_project
    project = tmp_path / "project"
    (project / "configs").mkdir(parents=True)
    (project / "models").mkdir()
    shutil.copy(REPO / "configs" / "features.yaml", project / "configs" / "features.yaml")
    settings = config.model_dump(mode="json") | {"features": "configs/features.yaml"}
    (project / "configs" / "churn.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    session_db = os.environ["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///")
    shutil.copy(session_db, project / "models" / "mlflow.db")  # the session's registry, its artifacts where they are

    # a new user's shell: none of the store variables this test session (and MLflow, which exports
    # MLFLOW_REGISTRY_URI whenever a registry is set in-process) have put in the environment
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "KPREDICT_MODELS_DIR")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    block = _block_after("a test runs this block as written")
    done = subprocess.run(["bash", "-e", "-c", block], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]

    features = pd.read_csv(project / "features.csv")
    assert "customer_id" in features.columns and len(features) > 0
    predictions = json.loads((project / "predictions.json").read_text())["predictions"]
    assert len(predictions) == len(features)
    assert all(0.0 <= row["churn_probability"] <= 1.0 for row in predictions)
    assert not (project / "mlflow.db").exists()  # nothing left behind in the working folder


def test_the_own_table_example_runs_as_written(tmp_path):
    """A new user's folder with two tables and nothing else: train, score and report as the README says."""
    from test_churn_table import customers

    project = tmp_path / "own_table"
    project.mkdir()
    known, _ = customers(2000, seed=0)
    known.rename(columns={"customer_key": "customer_id"}).to_csv(project / "customers.csv", index=False)
    new, _ = customers(300, seed=1, start=50_000)
    new.rename(columns={"customer_key": "customer_id"}).drop(columns="churned").to_csv(project / "new_customers.csv", index=False)

    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "KPREDICT_MODELS_DIR")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    block = _block_after("a folder holding `customers.csv` and `new_customers.csv`")
    done = subprocess.run(["bash", "-e", "-c", block], cwd=project, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]

    scored = pd.read_parquet(project / "output" / "churn_2026-12-01.parquet")
    assert sorted(scored["customer_id"]) == sorted(new["customer_key"])
    assert scored["reason_1_en"].notna().sum() > 0
    assert (project / "output" / "retention_list_2026-12-01_en.xlsx").is_file()
