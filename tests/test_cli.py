"""The command line: commands work on the demo company and errors map to the documented exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kpredict.cli.main import app

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A working directory with the repository's configs, as a user's checkout would have."""
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_help_lists_the_command_groups():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "data", "features", "config", "models"):
        assert command in result.output


def test_config_check_passes_on_the_repository_and_fails_with_exit_2(project):
    ok = runner.invoke(app, ["config", "check", "configs"])
    assert ok.exit_code == 0, ok.output
    assert "features.yaml" in ok.output
    (project / "configs" / "demo.yaml").write_text("seed: 1\nsizee: small\n")
    bad = runner.invoke(app, ["config", "check", "configs"])
    assert bad.exit_code == 2
    assert "unknown key 'sizee'" in bad.output


def test_data_generate_writes_the_company_and_refuses_unknown_sizes(project):
    result = runner.invoke(app, ["data", "generate", "--out", "out", "--size", "small", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert (project / "out" / "manifest.json").is_file()
    bad = runner.invoke(app, ["data", "generate", "--out", "out2", "--size", "huge"])
    assert bad.exit_code == 2
    assert "huge" in bad.output and not (project / "out2" / "manifest.json").exists()


def test_features_list_show_and_materialize(project, small_demo):
    listed = runner.invoke(app, ["features", "list"])
    assert listed.exit_code == 0 and "customer_orders" in listed.output
    shown = runner.invoke(app, ["features", "show", "customer_orders", "--lang", "zh"])
    assert shown.exit_code == 0 and "近30天订单数" in shown.output
    unknown = runner.invoke(app, ["features", "show", "nope"])
    assert unknown.exit_code == 2 and "unknown feature view 'nope'" in unknown.output
    done = runner.invoke(app, ["features", "materialize", "--data", str(small_demo), "--store", "fs", "--view", "customer_orders"])
    assert done.exit_code == 0, done.output
    assert list((project / "fs" / "customer_orders").glob("*/data-*.parquet"))


def test_materialize_with_missing_data_exits_2_naming_the_file(project):
    result = runner.invoke(app, ["features", "materialize", "--data", "nowhere", "--store", "fs", "--view", "customer_orders"])
    assert result.exit_code == 2
    assert "orders.parquet does not exist" in result.output


def test_demo_generates_materialises_and_summarises(project):
    result = runner.invoke(app, ["demo", "--size", "small"])
    assert result.exit_code == 0, result.output
    assert "Feature views" in result.output and "customer_orders" in result.output
    assert (project / "data" / "demo" / "manifest.json").is_file()
    assert list((project / "data" / "feature_store").glob("*/*/meta.json"))
    assert "replenishment table" in result.output and list((project / "output").glob("sales_forecast_*.replenishment.parquet"))
    text = " ".join(result.output.split())
    assert "where everything went" in text and "browse the runs and models: mlflow ui --backend-store-uri sqlite:///" in text
    assert "kpredict run-jobs --as-of" in text
    for written in ("churn_2026-11-01.parquet", "report_2026-11-01_zh.html", "report_2026-11-01_en.xlsx", "budget_2026-11-01.parquet",
                    "risk_anomaly_2026-11-01.alerts.parquet"):
        assert f"\n  output/{written}\n" in result.output, written  # its own line, the name to open


def test_train_score_report_and_models_commands(project, churn_project, tmp_path):
    """The churn commands run against the session's trained model (exit codes and files)."""
    _, config, result = churn_project
    import yaml

    (project / "configs" / "churn.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    listed = runner.invoke(app, ["models", "list", "--pipeline", "churn"])
    assert listed.exit_code == 0 and "kpredict-churn" in listed.output
    assert "…" not in listed.output  # long values fold onto more lines on an 80-column terminal
    as_json = runner.invoke(app, ["models", "list", "--pipeline", "churn", "--json"])
    versions = json.loads(as_json.output)
    assert {"name", "version", "aliases", "run_id", "metric_name", "metric_value", "created"} <= set(versions[0])
    assert any("champion" in v["aliases"].split(",") for v in versions)
    scored = runner.invoke(app, ["score", "churn", "--as-of", "2026-10-01", "--out", "churn.csv", "--explain-top", "10"])
    assert scored.exit_code == 0, scored.output
    assert (project / "output" / "churn.csv").is_file() and (project / "output" / "churn.manifest.json").is_file()
    reported = runner.invoke(app, ["report", "churn", "--as-of", "2026-10-01", "--lang", "zh"])
    assert reported.exit_code == 0, reported.output
    assert list((project / "output").glob("retention_list_2026-10-01_zh.xlsx"))
    bad_lang = runner.invoke(app, ["report", "churn", "--as-of", "2026-10-01", "--lang", "fr"])
    assert bad_lang.exit_code == 2
    unknown = runner.invoke(app, ["score", "nope", "--as-of", "2026-10-01"])
    assert unknown.exit_code == 2 and "The pipeline must be one of ['budget', 'churn', 'risk_anomaly', 'sales_forecast']; got 'nope'" in unknown.output
