"""The pipeline contract: a pipeline outside kpredict plugs in with no edit to kpredict.

The toy package in ``tests/toy_pipeline`` is installed the way pip would (a dist-info folder with
an entry point on ``sys.path``); ``kpredict pipelines / config check / train / score / models``
then work for it, its scikit-learn model loads without pickle, its parameters arrive from the
command line and from Python, companion tables and delivery work for both plugin shapes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kpredict.cli.main import app
from kpredict.errors import ConfigError, DeliveryError, ModelNotFoundError

HERE = Path(__file__).resolve().parent
runner = CliRunner()


def install_toy(site: Path) -> None:
    """Copy the toy package to ``site`` with the dist-info pip would write for it."""
    shutil.copytree(HERE / "toy_pipeline" / "kpredict_toy", site / "kpredict_toy")
    info = site / "kpredict_toy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kpredict-toy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[kpredict.pipelines]\ntoy = kpredict_toy:ROW\ntoy_frame = kpredict_toy:FRAME\n"
    )


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A project folder with the toy data and config, the toy installed, an empty MLflow store."""
    site = tmp_path / "site"
    install_toy(site)
    monkeypatch.syspath_prepend(str(site))
    project = tmp_path / "project"
    (project / "configs").mkdir(parents=True)
    (project / "data").mkdir()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    frame = pd.DataFrame({"id": [f"T{i:03d}" for i in range(200)], "x1": x[:, 0], "x2": x[:, 1]})
    frame["y"] = 3 * frame["x1"] - 2 * frame["x2"] + rng.normal(scale=0.1, size=200)
    frame.to_csv(project / "data" / "toy.csv", index=False)
    (project / "configs" / "toy.yaml").write_text("data_dir: data\nalpha: 1.0\n")
    monkeypatch.chdir(project)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    return project, site


def test_a_pipeline_from_another_package_trains_scores_and_lists_with_no_edit(toy):
    project, _ = toy
    listed = runner.invoke(app, ["pipelines"])
    assert listed.exit_code == 0, listed.output
    assert "toy_frame" in listed.output and "--scale" in listed.output and "--fail-delivery" in listed.output

    checked = runner.invoke(app, ["config", "check", "configs"])
    assert checked.exit_code == 0, checked.output
    (project / "configs" / "toy.yaml").write_text("data_dir: data\nalfa: 1.0\n")
    typo = runner.invoke(app, ["config", "check", "configs"])
    assert typo.exit_code == 2 and "unknown key 'alfa'" in typo.output and "did you mean 'alpha'" in typo.output
    (project / "configs" / "toy.yaml").write_text("data_dir: data\nalpha: 1.0\n")

    trained = runner.invoke(app, ["train", "toy", "--trials", "4"])
    assert trained.exit_code == 0, trained.output
    assert "registered version 1; promoted to champion (no previous champion)" in trained.output
    from mlflow import MlflowClient

    run = MlflowClient().search_runs(MlflowClient().get_experiment_by_name("kpredict-toy").experiment_id)[0]
    assert run.data.metrics["trials"] == 4  # --trials reached the nested key the descriptor names

    models = runner.invoke(app, ["models", "list", "--pipeline", "toy"])
    assert models.exit_code == 0 and "kpredict-toy" in models.output

    scored = runner.invoke(app, ["score", "toy", "--as-of", "2026-01-01", "--out", "toy.csv", "--scale", "2"])
    assert scored.exit_code == 0, scored.output
    output = pd.read_csv(project / "output" / "toy.csv")
    assert list(output.columns[:5]) == ["id", "as_of", "model_name", "model_version", "run_id"]
    from kpredict.scoring.bundle import load_bundle
    from kpredict.scoring.kinds import load_sklearn

    data = pd.read_csv(project / "data" / "toy.csv")

    ridge = load_sklearn(load_bundle("toy").directory, {})
    np.testing.assert_allclose(output["y_hat"], 2 * ridge.predict(data[["x1", "x2"]]))
    manifest = json.loads((project / "output" / "toy.manifest.json").read_text())
    assert manifest["params"] == {"scale": 2.0, "fail_delivery": False}
    assert manifest["companion_files"]["top"]["path"] == "toy.top.csv"
    top = pd.read_csv(project / "output" / "toy.top.csv")
    assert top["id"].tolist() == output.nlargest(3, "y_hat")["id"].tolist()
    assert (project / "output" / "toy.csv.delivered").read_text() == "toy.manifest.json 200\n"


def test_a_retrain_goes_through_the_gate_and_the_model_loads_without_pickle(toy):
    import mlflow

    from kpredict.pipeline import get_pipeline

    project, _ = toy
    descriptor = get_pipeline("toy")
    first = descriptor.train(None)
    worse = descriptor.train(None, alpha=500.0)  # same holdout: registered values are compared
    assert first.promoted and not worse.promoted and "does not beat" in worse.promotion_reason
    model = mlflow.pyfunc.load_model("models:/kpredict-toy@champion")  # pickle is switched off here
    frame = pd.read_csv(project / "data" / "toy.csv")
    predicted = model.predict(frame[["x1", "x2"]])
    assert list(predicted.columns) == ["y_hat", "unseen_category"] and len(predicted) == 200

    forced = descriptor.train(None, alpha=500.0, force=True)
    assert forced.promoted and forced.promotion_reason.startswith("forced")


def test_parameters_are_validated_with_messages_that_name_them(toy):
    from kpredict.pipeline import get_pipeline
    from kpredict.scoring import score

    get_pipeline("toy").train(None)
    with pytest.raises(ConfigError, match=r"scale: Input should be a valid number"):
        score("toy", "2026-01-01", write=False, scale="abc")
    with pytest.raises(ConfigError, match=r"unknown key 'scal'.*did you mean 'scale'"):
        score("toy", "2026-01-01", write=False, scal=2)
    bad = runner.invoke(app, ["score", "toy", "--as-of", "2026-01-01", "--scale", "x"])
    assert bad.exit_code == 2 and "scale" in bad.output
    stray = runner.invoke(app, ["score", "toy", "--as-of", "2026-01-01", "oops"])
    assert stray.exit_code == 2 and "stray argument 'oops'" in stray.output
    assert not (Path("output")).exists()  # nothing was written by the refused jobs


def test_a_failed_delivery_exits_5_and_keeps_what_was_written(toy):
    from kpredict.pipeline import get_pipeline
    from kpredict.scoring import score

    project, _ = toy
    get_pipeline("toy").train(None)
    failed = runner.invoke(app, ["score", "toy", "--as-of", "2026-01-01", "--fail-delivery"])
    assert failed.exit_code == 5, failed.output
    assert "delivering them failed" in failed.output and "ConnectionError" in failed.output
    written = project / "output" / "toy_2026-01-01.parquet"
    manifest = json.loads((project / "output" / "toy_2026-01-01.manifest.json").read_text())
    from kpredict.hashing import file_hash

    assert manifest["output"]["sha256"] == file_hash(written)
    with pytest.raises(DeliveryError) as caught:
        score("toy", "2026-01-01", fail_delivery=True)
    assert caught.value.result.output == written and caught.value.exit_code == 5


def test_a_whole_input_plugin_writes_its_table_and_companions(toy):
    from kpredict.pipeline import get_pipeline
    from kpredict.scoring import score

    project, _ = toy
    get_pipeline("toy_frame").train(None)
    result = score("toy_frame", "2026-01-01", top=5)
    assert list(result.frame.columns) == ["id", "as_of", "model_name", "model_version", "run_id", "y_hat"]
    assert len(result.companions["summary"]) == 5
    manifest = json.loads(result.manifest.read_text())
    assert manifest["input"]["rows_read"] == 200 and manifest["companion_files"]["summary"]["path"] == "toy_frame_2026-01-01.summary.parquet"
    with pytest.raises(ConfigError, match="input_path does not apply to pipeline 'toy_frame'"):
        score("toy_frame", "2026-01-01", input_path="x.csv")


def test_the_installed_command_discovers_the_toy_in_a_fresh_process(toy):
    project, site = toy
    env = {**__import__("os").environ, "PYTHONPATH": str(site)}
    done = subprocess.run(
        [str(Path(sys.executable).with_name("kpredict")), "config", "check", "configs"],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "toy.yaml" in done.stdout


# ------------------------------------------------------------------------- the parts, one by one


def test_nested_overrides_of_a_config_object_are_applied_and_validated():
    from kpredict.pipelines.churn import PIPELINE

    config = PIPELINE.load_config(None)
    changed = PIPELINE.load_config(config, **{"model.n_trials": 5, "data_dir": "elsewhere"})
    assert changed.model.n_trials == 5 and changed.data_dir == "elsewhere"
    assert config.model.n_trials != 5  # the object passed in is not modified
    with pytest.raises(ConfigError, match=r"model\.n_trials: Input should be greater than or equal to 1"):
        PIPELINE.load_config(config, **{"model.n_trials": 0})
    with pytest.raises(ConfigError, match="unknown key 'n_trial' in section 'model'"):
        PIPELINE.load_config(config, **{"model.n_trial": 5})


def test_cli_parameters_become_a_mapping_of_text():
    from kpredict.scoring.plugin import parse_cli_params

    assert parse_cli_params(["--budget", "1000", "--scenario=s.csv", "--dry-run", "--delta", "-5"]) == {
        "budget": "1000", "scenario": "s.csv", "dry_run": "true", "delta": "-5",
    }
    with pytest.raises(ConfigError, match="given twice"):
        parse_cli_params(["--budget", "1", "--budget", "2"])


def test_gate_metrics_have_one_direction_table():
    from kpredict.tracking.publish import METRIC_DIRECTIONS, Gate, greater_is_better

    assert greater_is_better("roc_auc") and not greater_is_better("mase")
    assert {"roc_auc", "pr_auc", "log_loss", "brier", "mase", "rmsse", "wape", "smape"} <= set(METRIC_DIRECTIONS)
    with pytest.raises(ConfigError, match="gate metric must be one of .* got 'accuracy'"):
        Gate("accuracy", 0.5)


def test_a_model_file_may_only_name_loaders_of_kpredict_or_a_pipeline(tmp_path):
    from kpredict.scoring.packaging import load_packaged

    (tmp_path / "kpredict_model.json").write_text(json.dumps({"pipeline": "x", "loader": "os:system"}))
    with pytest.raises(ModelNotFoundError, match="must be functions of kpredict"):
        load_packaged(tmp_path)


def test_skops_files_with_foreign_types_are_refused(tmp_path):
    import skops.io
    from sklearn.preprocessing import FunctionTransformer

    from kpredict.scoring.kinds import SKOPS_FILE, load_sklearn

    skops.io.dump(FunctionTransformer(func=shutil.rmtree), tmp_path / SKOPS_FILE)
    with pytest.raises(ModelNotFoundError, match=r"types outside scikit-learn and kpredict \['shutil.rmtree'\]"):
        load_sklearn(tmp_path, {})


def test_two_pipelines_with_one_name_are_refused(tmp_path, monkeypatch):
    from kpredict.pipeline import discover_pipelines

    install_toy(tmp_path)
    (tmp_path / "kpredict_toy-0.1.dist-info" / "entry_points.txt").write_text("[kpredict.pipelines]\nchurn = kpredict_toy:ROW\nclash = kpredict_toy:ROW\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=r"Pipeline names must be unique; declared more than once: \{'toy': \['kpredict_toy', 'kpredict_toy'\]\}"):
        discover_pipelines()


def test_models_logged_before_the_json_named_a_loader_load_by_their_pipeline():
    from kpredict.scoring.kinds import KINDS
    from kpredict.scoring.packaging import _reference

    assert _reference({"pipeline": "churn"}, "loader") == KINDS["classifier"].loader
    assert _reference({"pipeline": "sales_forecast"}, "predictor") == KINDS["forecaster"].predictor
    with pytest.raises(ModelNotFoundError, match="names no loader"):
        _reference({"pipeline": "budget"}, "loader")
