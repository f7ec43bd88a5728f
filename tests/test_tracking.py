"""Behaviour of kpredict.tracking: store resolution, the training run, and the registry gate.

Every test writes to its own sqlite store in tmp_path (a copy of one migrated empty store, because
creating MLflow's tables takes seconds). No network.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from kpredict.errors import MissingExtraError, ModelNotFoundError
from kpredict.hashing import frame_hash
from kpredict.tracking import store

mlflow = pytest.importorskip("mlflow")
from mlflow import MlflowClient  # noqa: E402

from kpredict.tracking import (  # noqa: E402
    list_models,
    model_name,
    pip_requirements,
    promote_if_better,
    register,
    resolve,
    training_run,
)
from kpredict.tracking.environment import code_version  # noqa: E402
from kpredict.tracking.params import MAX_PARAM_VALUE_LENGTH, flatten_params  # noqa: E402

CONFIG = {
    "model": {"learning_rate": 0.05, "num_leaves": 31, "params": {"min_child_samples": 20}},
    "split": {"holdout_days": 28},
    "features": ["tenure_months", "orders_90d"],
}


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow sqlite store with its tables created once per session."""
    db = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    uri = f"sqlite:///{db}"
    MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments()
    return db


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path) -> str:
    """A private store: ``sqlite:///{tmp_path}/mlflow.db``, artifacts in ``tmp_path/artifacts``."""
    db = tmp_path / "mlflow.db"
    shutil.copyfile(migrated_db, db)
    uri = f"sqlite:///{db}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.delenv("KPREDICT_MODELS_DIR", raising=False)
    store.configure()
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()
    # Leave MLflow resolving its URIs from the environment again, as before the test.
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


def _frame(n: int = 50, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "tenure_months": rng.integers(1, 60, n),
            "plan": rng.choice(["basic", "pro"], n),
            "churned": rng.integers(0, 2, n),
        }
    )


def _run_with_fake_model(pipeline: str = "churn") -> str:
    """A finished run holding a ``model/MLmodel`` artifact: enough to register a version."""
    with training_run(pipeline, {"a": 1}, seed=0) as run:
        run.log_text("flavors: {}\n", "model/MLmodel")
    return run.run_id


def _register(run_id: str, value: float, holdout: str = "h1", *, higher: bool = True) -> int:
    return register(
        run_id,
        "model",
        "churn",
        metric_name="auc" if higher else "rmse",
        metric_value=value,
        greater_is_better=higher,
        holdout_hash=holdout,
    )


def _download(run_id: str, tmp_path: Path) -> Path:
    return Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "dl")))


def _champion_version(pipeline: str = "churn") -> int:
    return resolve(pipeline, "champion").version


# -- store ---------------------------------------------------------------------------------------


def test_tracking_uri_prefers_mlflow_variable_then_models_dir_then_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KPREDICT_MODELS_DIR", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert store.tracking_uri(tmp_path) == "http://tracking.example:5000"

    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    root = tmp_path.resolve()
    assert store.tracking_uri(tmp_path) == f"sqlite:///{root}/models/mlflow.db"

    monkeypatch.setenv("KPREDICT_MODELS_DIR", "store")
    assert store.tracking_uri(tmp_path) == f"sqlite:///{root}/store/mlflow.db"
    monkeypatch.setenv("KPREDICT_MODELS_DIR", str(root / "elsewhere"))
    assert store.tracking_uri(Path("/ignored")) == f"sqlite:///{root}/elsewhere/mlflow.db"

    monkeypatch.delenv("KPREDICT_MODELS_DIR")
    monkeypatch.chdir(tmp_path)
    assert store.tracking_uri() == f"sqlite:///{root}/models/mlflow.db"


def test_artifacts_sit_beside_a_sqlite_db_and_servers_decide_otherwise(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path}/m/mlflow.db"
    assert store.artifact_root(uri) == tmp_path / "m" / "artifacts"
    location = store.experiment_artifact_location(uri, "kpredict-churn")
    assert location == (tmp_path / "m" / "artifacts" / "kpredict-churn").as_uri()
    assert store.artifact_root("http://tracking.example:5000") is None
    assert store.artifact_root("sqlite:///:memory:") is None


def test_configure_points_tracking_and_registry_at_the_store(
    mlflow_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert store.configure() == mlflow_store
    assert mlflow.get_tracking_uri() == mlflow_store
    assert mlflow.get_registry_uri() == mlflow_store
    assert store.configure() == mlflow_store  # repeated calls are no-ops

    # MLflow exports MLFLOW_REGISTRY_URI when we set it; the registry must still follow a new store.
    other = f"sqlite:///{tmp_path}/other/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    assert store.configure() == other
    assert mlflow.get_registry_uri() == other
    assert (tmp_path / "other").is_dir()


def test_importing_tracking_does_not_import_mlflow_or_pandas() -> None:
    code = (
        "import sys, kpredict, kpredict.tracking as t; "
        "t.tracking_uri; "
        "print(sorted(m for m in ('mlflow', 'pandas', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- the training run ----------------------------------------------------------------------------


def test_training_run_records_config_code_data_and_environment(
    mlflow_store: str, tmp_path: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = _frame()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    with training_run(
        "churn",
        CONFIG,
        seed=7,
        inputs={"labels": labels},
        feature_view_hashes={"customer_orders": "ab12"},
        run_name="unit",
    ) as run:
        run.log_metrics({"holdout.auc": 0.81})
        run.log_figure(fig, "plots/roc.png")
        run.log_table(labels.head(3), "tables/selection.csv")
        run.log_dict({"best": {"num_leaves": 31}}, "study/summary.json")
    plt.close(fig)

    client = MlflowClient()
    got = client.get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.info.run_name == "unit"
    assert client.get_experiment(got.info.experiment_id).name == "kpredict-churn"
    assert got.data.metrics == {"holdout.auc": 0.81}

    params = got.data.params
    assert params["model.learning_rate"] == "0.05"
    assert params["model.params.min_child_samples"] == "20"
    assert json.loads(params["features"]) == ["tenure_months", "orders_90d"]

    tags = got.data.tags
    assert tags["kpredict.pipeline"] == "churn"
    assert tags["kpredict.seed"] == "7"
    assert len(tags["kpredict.config_hash"]) == 64
    assert tags["kpredict.code_version"]
    assert tags["kpredict.data_hash.labels"] == frame_hash(labels)
    assert tags["kpredict.data_rows.labels"] == "50"
    assert tags["kpredict.data_columns.labels"] == "4"
    assert tags["kpredict.feature_view.customer_orders"] == "ab12"
    assert tags["kpredict.lib.pandas"] == pd.__version__
    assert tags["kpredict.lib.mlflow"] == mlflow.__version__
    assert tags["kpredict.lib.python"] == ".".join(map(str, sys.version_info[:3]))

    (dataset_input,) = got.inputs.dataset_inputs
    assert dataset_input.dataset.name == "labels"
    assert dataset_input.dataset.digest == frame_hash(labels)[:32]
    assert json.loads(dataset_input.dataset.profile)["num_rows"] == 50
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "training"

    root = _download(run.run_id, tmp_path)
    assert yaml.safe_load((root / "config/resolved.yaml").read_text()) == CONFIG
    env = json.loads((root / "environment.json").read_text())
    assert env["libraries"]["lightgbm"] == tags["kpredict.lib.lightgbm"]
    assert (root / "plots/roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pd.read_csv(root / "tables/selection.csv").equals(labels.head(3))
    assert json.loads((root / "study/summary.json").read_text()) == {"best": {"num_leaves": 31}}

    # Artifacts live beside the store, never in ./mlruns.
    assert got.info.artifact_uri.startswith((tmp_path / "artifacts").as_uri())
    assert not (tmp_path / "mlruns").exists()


def test_secrets_never_reach_params_tags_or_artifacts(mlflow_store: str, tmp_path: Path) -> None:
    from pydantic import BaseModel, SecretStr

    class Source(BaseModel):
        url: str
        credential: SecretStr
        opaque: SecretStr

    secrets = ["hunter2", "tok-123", "sk-live-9", "pw-in-url", "cred-x", "opaque-y"]
    config = {
        "db": {"password": "hunter2", "host": "db.local"},
        "api_token": "tok-123",
        "openai": {"apiKey": "sk-live-9"},
        "warehouse": "postgresql://reader:pw-in-url@db.local/sales",
        "source": Source(url="s3://bucket", credential="cred-x", opaque="opaque-y"),
        "model": {"num_leaves": 31},
    }
    with training_run("churn", config, seed=0) as run:
        pass

    got = MlflowClient().get_run(run.run_id)
    root = _download(run.run_id, tmp_path)
    recorded = json.dumps([got.data.params, got.data.tags]) + (
        root / "config/resolved.yaml"
    ).read_text()
    assert not [s for s in secrets if s in recorded]
    assert got.data.params["db.password"] == "***"
    assert got.data.params["api_token"] == "***"
    assert got.data.params["openai.apiKey"] == "***"
    assert got.data.params["source.opaque"] == "***"
    assert got.data.params["warehouse"] == "postgresql://reader:***@db.local/sales"
    assert got.data.params["db.host"] == "db.local"
    assert got.data.params["model.num_leaves"] == "31"


def test_params_are_flattened_and_truncated_to_mlflow_limit() -> None:
    from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

    assert MAX_PARAM_VALUE_LENGTH == MAX_PARAM_VAL_LENGTH
    flat = flatten_params({"a": {"b": {"c": 1}}, "long": "x" * 10_000, "empty": {}, "n": None})
    assert flat["a.b.c"] == "1"
    assert len(flat["long"]) == MAX_PARAM_VAL_LENGTH
    assert flat["empty"] == "{}"
    assert flat["n"] == "None"


def test_failing_block_ends_the_run_failed_and_reraises(mlflow_store: str) -> None:
    with pytest.raises(RuntimeError, match="fit diverged"):
        with training_run("churn", CONFIG, seed=0) as run:
            raise RuntimeError("fit diverged")
    assert MlflowClient().get_run(run.run_id).info.status == "FAILED"
    assert mlflow.active_run() is None


def test_full_data_hash_sees_a_change_beyond_any_sample(mlflow_store: str) -> None:
    # MLflow's own digest hashes at most the first 10,000 rows; change a row after them.
    before = _frame(n=20_000)
    after = before.copy()
    after.loc[15_000, "plan"] = "enterprise"
    with training_run("churn", CONFIG, seed=0, inputs={"labels": before}) as first:
        pass
    with training_run("churn", CONFIG, seed=0, inputs={"labels": after}) as second:
        pass
    client = MlflowClient()
    runs = [client.get_run(r.run_id) for r in (first, second)]
    hashes = [r.data.tags["kpredict.data_hash.labels"] for r in runs]
    digests = [r.inputs.dataset_inputs[0].dataset.digest for r in runs]
    assert hashes[0] != hashes[1]
    assert digests[0] != digests[1]


def test_training_run_inside_another_run_is_its_child(mlflow_store: str) -> None:
    with mlflow.start_run() as parent:
        with training_run("churn", CONFIG, seed=0) as child:
            pass
        assert mlflow.active_run().info.run_id == parent.info.run_id
    tags = MlflowClient().get_run(child.run_id).data.tags
    assert tags["mlflow.parentRunId"] == parent.info.run_id


def test_input_that_is_not_a_frame_is_refused(mlflow_store: str) -> None:
    with pytest.raises(TypeError, match="Input 'labels' must be a pandas DataFrame; got list"):
        with training_run("churn", CONFIG, seed=0, inputs={"labels": [1, 2]}):
            pass


# -- environment ---------------------------------------------------------------------------------


def test_pip_requirements_pin_installed_versions() -> None:
    from importlib.metadata import version

    lines = pip_requirements(["lightgbm", "pandas", "scikit_learn"])
    assert lines == sorted(
        [
            f"lightgbm=={version('lightgbm')}",
            f"mlflow=={version('mlflow')}",
            f"pandas=={version('pandas')}",
            f"scikit-learn=={version('scikit-learn')}",
        ]
    )
    with pytest.raises(MissingExtraError, match="Cannot pin 'no-such-lib-kp'.*pip install"):
        pip_requirements(["no-such-lib-kp"])


def test_code_version_is_commit_plus_dirty_or_package_version(tmp_path: Path) -> None:
    import kpredict

    assert code_version(tmp_path) == kpredict.__version__
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "a.py").write_text("x = 1\n")
    subprocess.run([*git, "add", "a.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "one"], check=True)
    sha = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert code_version(tmp_path) == sha
    (tmp_path / "new.txt").write_text("untracked files do not count\n")
    assert code_version(tmp_path) == sha
    (tmp_path / "a.py").write_text("x = 2\n")
    assert code_version(tmp_path / "a.py") == f"{sha}-dirty"


# -- registry ------------------------------------------------------------------------------------


def test_log_register_promote_resolve_and_load_give_the_same_predictions(
    mlflow_store: str,
) -> None:
    import lightgbm as lgb

    frame = _frame(n=300)
    features = frame[["tenure_months"]].astype(float)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "seed": 0, "deterministic": True},
        lgb.Dataset(features, frame["churned"]),
        num_boost_round=5,
    )
    with training_run("churn", CONFIG, seed=0, inputs={"labels": frame}) as run:
        info = mlflow.lightgbm.log_model(
            booster, name="model", pip_requirements=pip_requirements(["lightgbm", "pandas"])
        )
    version = register(
        run.run_id,
        info.model_uri,
        "churn",
        metric_name="auc",
        metric_value=0.7,
        greater_is_better=True,
        holdout_hash="h1",
    )
    decision = promote_if_better("churn", version)
    assert decision.promoted and decision.reason == "promoted to champion (no previous champion)"

    champion = resolve("churn")
    assert (champion.name, champion.version, champion.run_id) == ("kpredict-churn", 1, run.run_id)
    assert champion.uri == "models:/kpredict-churn/1"
    assert champion.tags["kpredict.metric_value"] == "0.7"
    assert champion.tags["kpredict.holdout_hash"] == "h1"
    loaded = mlflow.pyfunc.load_model(champion.uri)
    np.testing.assert_array_equal(
        np.asarray(loaded.predict(features)).ravel(), booster.predict(features)
    )
    assert resolve("churn", 1) == resolve("churn", "1") == champion


@pytest.mark.parametrize(
    ("challenger", "promoted", "reason"),
    [
        (0.85, True, r"beats champion version 1: auc 0\.85 vs 0\.8 on the same holdout"),
        (0.75, False, r"does not beat champion version 1"),
        (0.80, False, r"ties champion version 1"),
    ],
    ids=["better-promotes", "worse-keeps", "tie-keeps"],
)
def test_gate_compares_values_on_the_same_holdout(
    mlflow_store: str, challenger: float, promoted: bool, reason: str
) -> None:
    run_id = _run_with_fake_model()
    first = _register(run_id, 0.80)
    assert promote_if_better("churn", first).promoted
    second = _register(run_id, challenger)
    decision = promote_if_better("churn", second)
    assert decision.promoted is promoted
    assert decision.champion_version == first
    assert (decision.new_value, decision.champion_value) == (challenger, 0.80)
    assert re.search(reason, decision.reason)
    assert _champion_version() == (second if promoted else first)


def test_gate_respects_lower_is_better(mlflow_store: str) -> None:
    run_id = _run_with_fake_model()
    first = _register(run_id, 10.0, higher=False)
    promote_if_better("churn", first)
    assert not promote_if_better("churn", _register(run_id, 11.0, higher=False)).promoted
    better = _register(run_id, 9.0, higher=False)
    assert promote_if_better("churn", better).promoted
    assert _champion_version() == better


def test_gate_on_a_different_holdout_needs_an_evaluator(mlflow_store: str) -> None:
    run_id = _run_with_fake_model()
    first = _register(run_id, 0.80, holdout="h1")
    promote_if_better("churn", first)
    challenger = _register(run_id, 0.70, holdout="h2")

    blind = promote_if_better("churn", challenger)
    assert not blind.promoted
    assert "different holdout" in blind.reason and "evaluator" in blind.reason
    assert _champion_version() == first

    asked: list[str] = []

    def champion_scores(value: float) -> Any:
        def evaluate(uri: str) -> float:
            asked.append(uri)
            return value

        return evaluate

    kept = promote_if_better("churn", challenger, evaluate_champion=champion_scores(0.72))
    assert not kept.promoted and kept.champion_value == 0.72
    assert _champion_version() == first
    won = promote_if_better("churn", challenger, evaluate_champion=champion_scores(0.65))
    assert won.promoted and won.champion_value == 0.65
    assert "re-scored on the new holdout" in won.reason
    assert asked == [f"models:/kpredict-churn/{first}"] * 2
    assert _champion_version() == challenger


def test_force_promotes_a_worse_version(mlflow_store: str) -> None:
    run_id = _run_with_fake_model()
    first = _register(run_id, 0.80)
    promote_if_better("churn", first)
    worse = _register(run_id, 0.10)
    decision = promote_if_better("churn", worse, force=True)
    assert decision.promoted and decision.reason.startswith("forced")
    assert _champion_version() == worse
    assert resolve("churn").tags["kpredict.promotion_reason"] == decision.reason


def test_resolve_names_what_is_missing_and_what_to_do(mlflow_store: str) -> None:
    missing_model = r"No registered model 'kpredict-churn'.*kpredict train churn"
    with pytest.raises(ModelNotFoundError, match=missing_model) as err:
        resolve("churn")
    assert err.value.exit_code == 3

    run_id = _run_with_fake_model()
    _register(run_id, 0.8)
    no_alias = r"'kpredict-churn' has no alias 'champion'.*known versions: \[1\].*--model VERSION"
    with pytest.raises(ModelNotFoundError, match=no_alias):
        resolve("churn")
    no_version = r"'kpredict-churn' has no version 7; known versions: \[1\]"
    with pytest.raises(ModelNotFoundError, match=no_version):
        resolve("churn", 7)
    with pytest.raises(ModelNotFoundError, match=r"No registered model 'kpredict-budget'"):
        promote_if_better("budget", 2)


def test_pipeline_names_are_lower_case_identifiers(mlflow_store: str) -> None:
    from kpredict.errors import ConfigError

    assert model_name("sales_forecast") == "kpredict-sales_forecast"
    with pytest.raises(ConfigError, match="lower-case identifiers like 'churn'"):
        model_name("Churn Model")
    with pytest.raises(ConfigError, match="lower-case identifiers"):
        with training_run("Churn", CONFIG, seed=0):
            pass
    assert MlflowClient().get_experiment_by_name("kpredict-Churn") is None


def test_a_model_without_a_criterion_registers_and_is_champion_only_first_or_forced(mlflow_store: str) -> None:
    run_id = _run_with_fake_model("unlabelled")
    first = register(run_id, "model", "unlabelled", metric_name=None, metric_value=None)
    second = register(run_id, "model", "unlabelled", metric_name=None, metric_value=None)
    assert promote_if_better("unlabelled", first).promoted
    decision = promote_if_better("unlabelled", second)
    assert not decision.promoted and "no registered metric" in decision.reason
    assert promote_if_better("unlabelled", second, force=True).promoted
    with pytest.raises(ValueError, match="without a metric_name"):
        register(run_id, "model", "unlabelled", metric_name=None, metric_value=0.5)


def test_register_refuses_a_non_finite_metric(mlflow_store: str) -> None:
    with pytest.raises(ValueError, match="metric_value for 'auc' must be a finite number"):
        _register("0" * 32, float("nan"))


def test_retries_get_past_a_locked_store_and_stop_on_other_errors() -> None:
    from kpredict.tracking._retry import with_retries

    calls: list[int] = []

    def locked_twice() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("(sqlite3.OperationalError) database is locked")
        return "done"

    assert with_retries(locked_twice, what="test") == "done"
    assert len(calls) == 3

    def broken() -> None:
        calls.append(1)
        raise RuntimeError("no such table: experiments")

    calls.clear()
    with pytest.raises(RuntimeError, match="no such table"):
        with_retries(broken, what="test")
    assert len(calls) == 1

    def always_locked() -> None:
        calls.append(1)
        raise RuntimeError("database is locked")

    calls.clear()
    with pytest.raises(RuntimeError, match="database is locked"):
        with_retries(always_locked, what="test", attempts=2)
    assert len(calls) == 2


def test_register_never_adds_a_second_version_when_an_attempt_fails_late(
    mlflow_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.exceptions import MlflowException

    run_id = _run_with_fake_model()
    real = mlflow.register_model
    attempts: list[str] = []

    def committed_then_locked(*args, **kwargs):
        attempts.append("call")
        version = real(*args, **kwargs)
        if len(attempts) == 1:
            raise MlflowException("(sqlite3.OperationalError) database is locked")
        return version

    monkeypatch.setattr(mlflow, "register_model", committed_then_locked)
    assert _register(run_id, 0.8) == 1
    assert attempts == ["call"]
    assert list(list_models("churn")["version"]) == [1]


def test_list_models_shows_versions_aliases_and_metrics(mlflow_store: str) -> None:
    assert list(list_models().columns[:3]) == ["name", "version", "aliases"]
    assert list_models().empty
    run_id = _run_with_fake_model()
    first = _register(run_id, 0.8)
    promote_if_better("churn", first)
    _register(run_id, 0.7)
    table = list_models()
    assert table[["name", "version", "aliases", "metric_value"]].to_dict("records") == [
        {"name": "kpredict-churn", "version": 2, "aliases": "", "metric_value": 0.7},
        {"name": "kpredict-churn", "version": 1, "aliases": "champion", "metric_value": 0.8},
    ]
    assert (table["run_id"] == run_id).all()
    assert str(table["created"].dtype) == "datetime64[ns, UTC]"
    assert list_models("budget").empty


def _register_twice(run_id: str) -> list[int]:
    return [
        register(
            run_id,
            "model",
            "churn",
            metric_name="auc",
            metric_value=0.5,
            greater_is_better=True,
            holdout_hash="h",
        )
        for _ in range(2)
    ]


def _register_in_process(uri: str, run_id: str, barrier: Any, results: Any) -> None:
    """Worker of the concurrency test (module level so spawn can import it)."""
    import os

    os.environ["MLFLOW_TRACKING_URI"] = uri
    list_models("churn")  # open the store first, so the registrations below really overlap
    barrier.wait(timeout=120)
    results.put(_register_twice(run_id))


def test_processes_registering_at_once_get_distinct_versions(mlflow_store: str) -> None:
    # Three processes: two spawned workers and this one (spawning a third would only add
    # another few seconds of importing MLflow on a small machine).
    run_id = _run_with_fake_model()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(3)
    results = context.Queue()
    workers = [
        context.Process(target=_register_in_process, args=(mlflow_store, run_id, barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        barrier.wait(timeout=120)
        versions = _register_twice(run_id)
        versions += [v for _ in workers for v in results.get(timeout=60)]
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.terminate()
    assert [w.exitcode for w in workers] == [0, 0]
    assert sorted(versions) == [1, 2, 3, 4, 5, 6]
    assert sorted(list_models("churn")["version"]) == [1, 2, 3, 4, 5, 6]


def test_secret_key_names_are_masked_but_ordinary_keys_are_not():
    from kpredict.tracking.params import is_secret_key

    for name in ("password", "db_password", "api_key", "apiKey", "aws_secret_access_key", "token", "key"):
        assert is_secret_key(name), name
    for name in ("join_keys", "entity_key", "sort_key", "primary_key", "monkey", "seed"):
        assert not is_secret_key(name), name
