"""Shared test fixtures.

Tests that need the real datasets in ../shared/data skip with a reason when they are absent,
except under CI=true, where a missing dataset is a failure (CI must really run them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def in_fresh_thread(function, /, *args, **kwargs):
    """``function(*args, **kwargs)`` run on a new thread: for the heavy forecasting fixtures.

    CPython 3.11 keeps a thread's frames in 16 KiB chunks, mapped and unmapped as the call depth
    crosses a chunk's edge. At the depth pytest reaches, a hot loop in statsforecast's workers
    (forked from this thread, so at the same depth) and in this process crossed one on every call:
    on M1 yearly 2.4 million mmap/munmap calls, 33 s of system time, 82 s against 57 s on a new
    thread, which starts with an empty frame stack.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def shared_data(relative: str) -> Path:
    """Path of a file under ../shared/data, or skip (fail under CI) when it is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        message = f"real dataset {path} is not available (expected ../shared/data beside the repository)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + "; CI must run this test")
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """The small demo company, generated once per test session."""
    from kpredict.datasets import generate

    out = tmp_path_factory.mktemp("demo_small")
    generate(out, size="small", seed=0)
    return out


@pytest.fixture(autouse=True, scope="session")
def _isolated_mlflow(tmp_path_factory):
    """The session gets its own MLflow store: nothing is written under the repository's models/."""
    root = tmp_path_factory.mktemp("mlflow_session")
    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "KPREDICT_MODELS_DIR")}
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    os.environ["KPREDICT_MODELS_DIR"] = str(root / "models")
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="module")
def own_mlflow(tmp_path_factory):
    """A store of the module's own, for modules that train from users' tables: a table-trained
    champion must not replace the demo's champions that other modules score with."""
    from kpredict.tracking.store import configure

    root = tmp_path_factory.mktemp("own_mlflow")
    saved = {name: os.environ.get(name) for name in ("MLFLOW_TRACKING_URI", "KPREDICT_MODELS_DIR")}
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    os.environ["KPREDICT_MODELS_DIR"] = str(root / "models")
    configure()
    yield root
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    configure()


@pytest.fixture(autouse=True)
def _mlflow_back_on_the_session_store():
    """A test that points MLflow at another store (a copy, a server) leaves it pointing back here:
    session fixtures are shared across modules, and MLflow's URIs are process-wide."""
    yield
    from kpredict.tracking.store import configure

    configure()


@pytest.fixture(scope="session")
def churn_project(tmp_path_factory, small_demo):
    """A project directory whose MLflow store holds a churn model trained on the small demo.

    Returns (project directory, training result). Trained once per session (3 optuna trials).
    """
    from kpredict.pipelines.churn import PIPELINE

    project = tmp_path_factory.mktemp("churn_project")
    config = load_churn_test_config(project, small_demo)
    result = PIPELINE.train(config)
    return project, config, result


def load_churn_test_config(project: Path, data_dir: Path, **overrides):
    """The repository's churn config pointed at ``data_dir`` with a quick search."""
    from kpredict.pipelines.churn import PIPELINE

    return _repository_config(PIPELINE.load_config, "churn", project, data_dir, **{"model.n_trials": 3, "decision.capacity": 20, **overrides})


@pytest.fixture(scope="session")
def sales_project(tmp_path_factory, small_demo):
    """A project whose MLflow store holds a sales forecaster trained on the small demo.

    Returns (project directory, config, training result).
    """
    from kpredict.pipelines.sales_forecast import PIPELINE

    project = tmp_path_factory.mktemp("sales_project")
    config = load_sales_test_config(project, small_demo)
    return project, config, PIPELINE.train(config)


def load_sales_test_config(project: Path, data_dir: Path, **overrides):
    """The repository's sales-forecast config pointed at ``data_dir``."""
    from kpredict.pipelines.sales_forecast import PIPELINE

    return _repository_config(PIPELINE.load_config, "sales_forecast", project, data_dir, **overrides)


def _repository_config(loader, pipeline: str, project: Path, data_dir: Path, **overrides):
    """``configs/<pipeline>.yaml`` with data, feature definitions and store pointed at test paths."""
    repo = Path(__file__).resolve().parents[1]
    return loader(
        repo / "configs" / f"{pipeline}.yaml",
        data_dir=str(data_dir),
        features=str(repo / "configs" / "features.yaml"),
        feature_store_dir=str(project / "feature_store"),
        **overrides,
    )


_REPO = Path(__file__).resolve().parents[1]


def risk_config(project: Path, data_dir: Path, **overrides):
    from kpredict.pipelines.risk_anomaly import PIPELINE

    return PIPELINE.load_config(
        _REPO / "configs" / "risk_anomaly.yaml", data_dir=str(data_dir), features=str(_REPO / "configs" / "features.yaml"),
        feature_store_dir=str(project / "feature_store"), **overrides,
    )


@pytest.fixture(scope="session")
def risk_project(tmp_path_factory, small_demo):
    """The detector trained on the small demo (alert budget: 5 a day), and its holdout week scored."""
    from kpredict.pipelines.risk_anomaly import PIPELINE
    from kpredict.scoring import score

    project = tmp_path_factory.mktemp("risk_project")
    config = risk_config(project, small_demo, **{"alerts.per_day": 5})
    result = PIPELINE.train(config)
    scored = score("risk_anomaly", "2026-11-01", model=result.model_version, config=config, output_dir=project / "output", window="30d")
    return project, config, result, scored


QUICK = {"search.n_trials": 40, "bootstrap.n_boot": 8, "bootstrap.n_trials": 5, "bootstrap.n_jobs": 1}


def budget_config(project: Path, data_dir: Path, **overrides):
    from kpredict.pipelines.budget import PIPELINE

    return PIPELINE.load_config(
        _REPO / "configs" / "budget.yaml", data_dir=str(data_dir), features=str(_REPO / "configs" / "features.yaml"),
        feature_store_dir=str(project / "feature_store"), **{**QUICK, **overrides},
    )


@pytest.fixture(scope="session")
def budget_project(tmp_path_factory, small_demo):
    from kpredict.pipelines.budget import PIPELINE

    project = tmp_path_factory.mktemp("budget_project")
    config = budget_config(project, small_demo)
    return project, config, PIPELINE.train(config)
