"""The MLflow run around one training of a pipeline: everything needed to trace and reproduce it.

On start a run records the resolved config (``config/resolved.yaml`` and flattened params, secrets
masked), the code version, config hash, seed and library versions (tags and ``environment.json``),
a full-data hash of every input frame beside an MLflow dataset, and the feature view hashes.

Why our own data hash: MLflow's dataset digest samples rows, so two inputs that differ in one row
can share it. We hash every row (:func:`kpredict.hashing.frame_hash`) and give that hash to MLflow
as the dataset digest too, so MLflow's dataset lineage tells such inputs apart as well.

Tags written (``<name>`` is the input / feature view name)::

    kpredict.pipeline  kpredict.code_version  kpredict.config_hash  kpredict.seed
    kpredict.lib.<library>  kpredict.data_hash.<name>  kpredict.data_rows.<name>
    kpredict.data_columns.<name>  kpredict.feature_view.<name>
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import pandas as pd

from kpredict.errors import ConfigError
from kpredict.hashing import frame_hash, object_hash
from kpredict.tracking import store
from kpredict.tracking._retry import with_retries
from kpredict.tracking.environment import environment_info
from kpredict.tracking.params import flatten_params, plain_config
from kpredict.tracking.registry import model_name

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["TrainingRun", "experiment_name", "training_run"]

logger = logging.getLogger(__name__)

TAG_PREFIX = "kpredict."
CONFIG_ARTIFACT = "config/resolved.yaml"
ENVIRONMENT_ARTIFACT = "environment.json"
INPUT_CONTEXT = "training"
# MLflow keeps dataset digests in a 36-character column.
_DIGEST_LENGTH = 32
# Rows MLflow's type inference looks at: types only differ further down for mixed-type object
# columns, and MLflow's inference costs about a microsecond per value.
_SCHEMA_SAMPLE_ROWS = 1_000


def experiment_name(pipeline: str) -> str:
    """Default MLflow experiment of a pipeline: ``kpredict-<pipeline>``."""
    return f"kpredict-{pipeline}"


@dataclass
class TrainingRun:
    """Handle on the active training run: log metrics, figures, tables and dicts to it.

    Every method writes to this run by id, so it is safe even if other runs are active.
    """

    run_id: str
    experiment_id: str
    pipeline: str
    _client: MlflowClient = field(repr=False)

    @property
    def artifact_uri(self) -> str:
        """Root URI of the run's artifacts."""
        return self._client.get_run(self.run_id).info.artifact_uri

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Log one metric (see :meth:`log_metrics`)."""
        self.log_metrics({key: value}, step=step)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log numeric metrics in one batch (e.g. ``{"holdout.auc": 0.81}``)."""
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step or 0) for k, v in metrics.items()]
        if batch:
            self._write(lambda: self._client.log_batch(self.run_id, metrics=batch), "log metrics")

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log extra params (e.g. tuned hyper-parameters), flattened and masked like the config."""
        flat = flatten_params(params)
        if flat:
            from mlflow.entities import Param

            batch = [Param(k, v) for k, v in flat.items()]
            self._write(lambda: self._client.log_batch(self.run_id, params=batch), "log params")

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set run tags; values become strings."""
        from mlflow.entities import RunTag

        batch = [RunTag(k, str(v)) for k, v in tags.items()]
        if batch:
            self._write(lambda: self._client.log_batch(self.run_id, tags=batch), "set tags")

    def log_figure(self, figure: Any, artifact_file: str) -> None:
        """Save a matplotlib (or plotly) figure as an artifact; the extension picks the format."""
        _check_artifact_file(artifact_file)
        self._write(
            lambda: self._client.log_figure(self.run_id, figure, artifact_file), "log figure"
        )

    def log_table(self, frame: pd.DataFrame, artifact_file: str) -> None:
        """Save a data frame as ``.csv``, ``.parquet`` or ``.json`` (records) without its index."""
        _check_artifact_file(artifact_file)
        suffix = PurePosixPath(artifact_file).suffix.lower()
        if suffix not in {".csv", ".parquet", ".json"}:
            raise ValueError(
                f"log_table writes .csv, .parquet or .json files; got {artifact_file!r}. "
                "Change the artifact file's extension."
            )
        with tempfile.TemporaryDirectory(prefix="kpredict-table-") as tmp:
            local = os.path.join(tmp, PurePosixPath(artifact_file).name)
            if suffix == ".csv":
                frame.to_csv(local, index=False, lineterminator="\n")
            elif suffix == ".parquet":
                frame.to_parquet(local, index=False)
            else:
                frame.to_json(local, orient="records", date_format="iso", force_ascii=False)
            self._log_file(local, artifact_file)

    def log_dict(self, obj: Any, artifact_file: str) -> None:
        """Save a dict or list as ``.json`` or ``.yaml`` (by extension)."""
        _check_artifact_file(artifact_file)
        self._write(lambda: self._client.log_dict(self.run_id, obj, artifact_file), "log dict")

    def log_text(self, text: str, artifact_file: str) -> None:
        """Save text as an artifact file."""
        _check_artifact_file(artifact_file)
        self._write(lambda: self._client.log_text(self.run_id, text, artifact_file), "log text")

    def log_study(self, study: Any, *, best_params: Mapping[str, Any] | None = None, prefix: str = "study") -> None:
        """An optuna study: its summary, the trials table and the optimisation-history plot.

        Writes ``<prefix>/summary.json``, ``<prefix>/trials.csv`` and
        ``<prefix>/optimization_history.png``.
        """
        import warnings

        from optuna.exceptions import ExperimentalWarning
        from optuna.visualization.matplotlib import plot_optimization_history

        summary = {"best_params": dict(best_params if best_params is not None else study.best_params), "best_value": study.best_value, "n_trials": len(study.trials)}
        self.log_dict(summary, f"{prefix}/summary.json")
        trials = study.trials_dataframe()
        as_text = [c for c in trials.columns if trials[c].dtype == object or "datetime" in str(trials[c].dtype) or "timedelta" in str(trials[c].dtype)]
        self.log_table(trials.astype({c: str for c in as_text}), f"{prefix}/trials.csv")
        with warnings.catch_warnings():  # the matplotlib plot is marked experimental; its output is what we want
            warnings.simplefilter("ignore", ExperimentalWarning)
            axis = plot_optimization_history(study)
        self.log_figure(axis.figure, f"{prefix}/optimization_history.png")
        import matplotlib.pyplot as plt

        plt.close(axis.figure)  # optuna draws through pyplot; do not keep its figure alive

    def _log_file(self, local: str, artifact_file: str) -> None:
        parent = str(PurePosixPath(artifact_file).parent)
        artifact_path = None if parent == "." else parent
        self._write(
            lambda: self._client.log_artifact(self.run_id, local, artifact_path), "log artifact"
        )

    @staticmethod
    def _write(operation: Any, what: str) -> None:
        with_retries(operation, what=what)


@contextlib.contextmanager
def training_run(
    pipeline: str,
    config: Mapping[str, Any] | Any,
    *,
    seed: int,
    inputs: Mapping[str, pd.DataFrame] | None = None,
    feature_view_hashes: Mapping[str, str] | None = None,
    experiment: str | None = None,
    run_name: str | None = None,
) -> Iterator[TrainingRun]:
    """Open the MLflow run of one training and record what it ran on; end it FAILED on error.

    Inside the block the run is also MLflow's active run, so ``mlflow.<flavor>.log_model`` logs to
    it. If another run is already active (e.g. a sweep), this one is started as its child.

    Args:
        pipeline: Pipeline name, e.g. ``"churn"``.
        config: The resolved config (mapping or pydantic model); secrets are masked before logging.
        seed: The random seed the training uses.
        inputs: Input frames by name (e.g. ``{"labels": df}``); each gets a full-data hash.
        feature_view_hashes: Content hash of each feature view definition used.
        experiment: MLflow experiment name; defaults to ``kpredict-<pipeline>``.
        run_name: Display name of the run; MLflow picks one when None.

    Yields:
        The :class:`TrainingRun` to log metrics, figures, tables and dicts to.

    Raises:
        ConfigError: The pipeline name is not a lower-case identifier, or the experiment exists
            but was deleted.
        TypeError: An input is not a pandas DataFrame.

    Examples:
        >>> with training_run("churn", cfg, seed=0, inputs={"labels": df}) as run:  # doctest: +SKIP
        ...     run.log_metrics({"holdout.auc": 0.81})
    """
    import mlflow
    from mlflow import MlflowClient

    model_name(pipeline)  # the same naming rule as the registry, checked before anything is written
    frames = dict(inputs or {})
    for name, frame in frames.items():
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"Input {name!r} must be a pandas DataFrame; got {type(frame).__name__}."
            )
    uri = store.configure()
    client = MlflowClient()
    experiment_id = _experiment_id(client, uri, experiment or experiment_name(pipeline))
    nested = mlflow.active_run() is not None
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, nested=nested) as active:
        run = TrainingRun(active.info.run_id, experiment_id, pipeline, client)
        _log_start(run, pipeline, config, seed, frames, dict(feature_view_hashes or {}))
        logger.info("Training run started for pipeline %s (run %s)", pipeline, run.run_id)
        try:
            yield run
        except BaseException:
            logger.warning("Training run %s of pipeline %s failed", run.run_id, pipeline)
            raise


def _log_start(
    run: TrainingRun,
    pipeline: str,
    config: Any,
    seed: int,
    frames: dict[str, pd.DataFrame],
    feature_views: dict[str, str],
) -> None:
    """Everything a run records before the training itself starts."""
    masked = plain_config(config)
    env = environment_info()
    tags: dict[str, Any] = {
        f"{TAG_PREFIX}pipeline": pipeline,
        f"{TAG_PREFIX}code_version": env["code_version"],
        f"{TAG_PREFIX}config_hash": object_hash(masked),
        f"{TAG_PREFIX}seed": seed,
    }
    libraries = {"python": env["python"], **env["libraries"]}
    for lib, version in libraries.items():
        if version is not None:
            tags[f"{TAG_PREFIX}lib.{lib}"] = version
    for name, digest in sorted(feature_views.items()):
        tags[f"{TAG_PREFIX}feature_view.{name}"] = digest
    datasets = []
    for name, frame in frames.items():
        digest = frame_hash(frame)
        tags[f"{TAG_PREFIX}data_hash.{name}"] = digest
        tags[f"{TAG_PREFIX}data_rows.{name}"] = len(frame)
        tags[f"{TAG_PREFIX}data_columns.{name}"] = len(frame.columns)
        datasets.append(_dataset(frame, name, digest))
    run.set_tags(tags)
    run.log_params(masked if isinstance(masked, dict) else {"config": masked})
    run.log_dict(masked, CONFIG_ARTIFACT)
    run.log_dict(env, ENVIRONMENT_ARTIFACT)
    if datasets:
        import mlflow

        contexts: list[str | None] = [INPUT_CONTEXT] * len(datasets)
        tags_list: list[dict[str, str] | None] = [None] * len(datasets)
        run._write(
            lambda: mlflow.log_inputs(datasets=datasets, contexts=contexts, tags_list=tags_list),
            "log inputs",
        )


def _dataset(frame: pd.DataFrame, name: str, digest: str) -> Any:
    """MLflow dataset of a frame, carrying our full-data hash as its digest."""
    import mlflow.data

    dataset = mlflow.data.from_pandas(frame, name=name, digest=digest[:_DIGEST_LENGTH])
    schema = _schema(frame)
    if schema is not None:
        try:
            dataset.schema = schema  # replaces MLflow's (cached) inference over every value
        except AttributeError:  # a future MLflow made it read-only: let it infer
            pass
    with _quiet_schema_hint():
        dataset.schema  # noqa: B018 - computed now, under the warning filter
    return dataset


def _schema(frame: pd.DataFrame) -> Any:
    """The dataset schema MLflow would infer, in milliseconds instead of seconds per million rows.

    Why: MLflow checks every value of every column in Python for missing values (about a second
    per column per million rows). Types come from MLflow's own inference on the first rows (they
    only differ from the full frame's for mixed-type object columns); ``required`` comes from a
    vectorised missing-value check over all rows.
    """
    import mlflow.data
    from mlflow.types import ColSpec, Schema

    sample = frame.head(_SCHEMA_SAMPLE_ROWS)
    with _quiet_schema_hint():
        sampled = mlflow.data.from_pandas(sample, digest="sample").schema
    if sampled is None or not all(isinstance(spec, ColSpec) for spec in sampled.inputs):
        return None
    if [spec.name for spec in sampled.inputs] != [str(col) for col in frame.columns]:
        return None
    missing = frame.isna().any(axis=0).to_numpy()
    return Schema(
        [
            ColSpec(type=spec.type, name=spec.name, required=not bool(has_missing))
            for spec, has_missing in zip(sampled.inputs, missing)
        ]
    )


@contextlib.contextmanager
def _quiet_schema_hint() -> Iterator[None]:
    """Hide MLflow's hint about integer columns: it is advice for model signatures, not data."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*integer column", category=UserWarning)
        yield


def _experiment_id(client: MlflowClient, uri: str, name: str) -> str:
    """Id of experiment ``name``, created with kpredict's artifact location when missing."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is None:
        location = store.experiment_artifact_location(uri, name)
        try:
            return with_retries(
                lambda: client.create_experiment(name, artifact_location=location),
                what="create experiment",
            )
        except MlflowException as exc:
            # Another process created it between our look-up and our create.
            found = client.get_experiment_by_name(name)
            if found is None:
                raise exc
    if found.lifecycle_stage != "active":
        raise ConfigError(
            f"MLflow experiment {name!r} exists but is deleted. Restore it with "
            f"'mlflow experiments restore --experiment-id {found.experiment_id}', or pass "
            "another experiment name."
        )
    return found.experiment_id


def _check_artifact_file(artifact_file: str) -> None:
    path = PurePosixPath(artifact_file)
    if path.is_absolute() or ".." in path.parts or not path.name:
        raise ValueError(
            f"Artifact file must be a relative path inside the run, like 'plots/roc.png'; "
            f"got {artifact_file!r}."
        )
