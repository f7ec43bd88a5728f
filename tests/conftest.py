"""Shared test fixtures.

Tests that need the real datasets in ../shared/data skip with a reason when they are absent,
except under CI=true, where a missing dataset is a failure (CI must really run them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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
