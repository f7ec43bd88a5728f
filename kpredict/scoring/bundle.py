"""A registered model made ready to score: resolved in the registry, downloaded, version-checked.

Every kpredict model directory holds ``kpredict_model.json``: the pipeline, what the model expects
(:class:`~kpredict.scoring.validate.FeatureSpec`), the versions of the libraries it was trained
with, and pipeline settings scoring needs (risk bands, decision threshold...).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from kpredict.errors import ModelNotFoundError

__all__ = ["MODEL_META", "ModelBundle", "check_library_versions", "load_bundle"]

logger = logging.getLogger(__name__)

MODEL_META = "kpredict_model.json"
#: where a kpredict model keeps its files inside the MLflow model directory
MODEL_DIR = "model_dir"


@dataclass
class ModelBundle:
    """Registry identity + local files + metadata of one model version."""

    pipeline: str
    name: str
    version: int
    run_id: str
    uri: str
    directory: Path
    meta: dict[str, Any]


def check_library_versions(meta: dict[str, Any], *, allow_mismatch: bool) -> None:
    """Refuse a model trained under another major.minor of its ML libraries unless allowed."""
    mismatched = []
    for library, trained in meta.get("libraries", {}).items():
        try:
            installed = metadata.version(library)
        except metadata.PackageNotFoundError:
            installed = None
        if installed is None or installed.split(".")[:2] != str(trained).split(".")[:2]:
            mismatched.append(f"{library} trained {trained}, installed {installed}")
    if mismatched and not allow_mismatch:
        raise ModelNotFoundError(
            f"the model was trained with other library versions ({'; '.join(mismatched)}); "
            "retrain it, install the matching versions, or allow it with allow_version_mismatch=True (CLI: --allow-version-mismatch)"
        )
    if mismatched:
        logger.warning("scoring with mismatched library versions: %s", "; ".join(mismatched))


def _files_uri(resolved) -> str:
    """Where the version's files are, asked of the registry rather than through ``models:/``.

    Why: downloading ``models:/...`` from a local store writes a metadata file into the model's
    own folder, which fails on a read-only store; the plain location is read in place (local) or
    downloaded to a fresh temporary folder (a server). A moved store's location is translated.
    """
    from mlflow import MlflowClient

    from kpredict.tracking.relocate import local_artifact_uri
    from kpredict.tracking.store import local_store_db

    location = MlflowClient().get_model_version_download_uri(resolved.name, str(resolved.version))
    return local_artifact_uri(location, local_store_db())


def load_bundle(pipeline: str, model: str | int = "champion", *, allow_version_mismatch: bool = False) -> ModelBundle:
    """Resolve ``kpredict-<pipeline>`` at ``model`` (alias or version) and download its files.

    Raises:
        ModelNotFoundError: no such model/alias/version, or files that cannot be loaded.
    """
    import mlflow

    from kpredict.tracking import configure, resolve

    configure()
    resolved = resolve(pipeline, model)
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=_files_uri(resolved)))
    except Exception as exc:  # MLflow raises several types for missing artifacts
        raise ModelNotFoundError(f"model {resolved.name} version {resolved.version} cannot be downloaded: {type(exc).__name__}") from exc
    candidates = list(local.rglob(MODEL_META))
    if not candidates:
        raise ModelNotFoundError(f"model {resolved.name} version {resolved.version} has no {MODEL_META}; it was not logged by kpredict")
    directory = candidates[0].parent
    meta = json.loads(candidates[0].read_text(encoding="utf-8"))
    if meta.get("pipeline") != pipeline:
        raise ModelNotFoundError(f"model {resolved.name} version {resolved.version} belongs to pipeline {meta.get('pipeline')!r}, not {pipeline!r}")
    check_library_versions(meta, allow_mismatch=allow_version_mismatch)
    return ModelBundle(pipeline, resolved.name, resolved.version, resolved.run_id, resolved.uri, directory, meta)
