"""The one batch scoring interface for every pipeline: ``kpredict.score(...)`` and ``kpredict score``.

resolve the model → build the input from the feature store as of a date (the same code path as
training) or read a features table → validate it against the model → predict in chunks → finalize
→ explain the top rows → companion tables → write output, companions, rejects and, last, the
manifest → deliver.

A pipeline plugs in through the scoring plugin of its descriptor (:mod:`kpredict.scoring.plugin`):
a per-row plugin (one output row per input row, validated against the model's features) or a
whole-input plugin (forecasts, one row per series and future date, plus companion tables).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kpredict import __version__
from kpredict.errors import ConfigError, DeliveryError
from kpredict.hashing import frame_hash
from kpredict.monitoring.record import monitoring_record
from kpredict.scoring.bundle import load_bundle
from kpredict.scoring.input_file import read_features_table
from kpredict.scoring.output import companion_path, resolve_output_path, write_output_set
from kpredict.scoring.plugin import (
    FrameScoringPlugin,
    RowScoringPlugin,
    ScoringContext,
    WrittenOutput,
    validate_params,
)
from kpredict.scoring.validate import FeatureSpec, validate_input
from kpredict.tracking.store import check_reachable

if TYPE_CHECKING:  # pragma: no cover
    from kpredict.pipeline import PipelineDescriptor

__all__ = ["ScoreResult", "score"]

logger = logging.getLogger(__name__)

STANDARD_COLUMNS = ["as_of", "model_name", "model_version", "run_id"]
DEFAULT_CHUNK_ROWS = 200_000
ENGINES = ("local", "dask")
BAD_ROWS = ("error", "reject")


@dataclass
class ScoreResult:
    """The scored frame and where it was written (``output`` is None when nothing was written)."""

    frame: pd.DataFrame
    output: Path | None
    manifest: Path | None
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    companions: dict[str, pd.DataFrame] = field(default_factory=dict)
    companion_paths: dict[str, Path] = field(default_factory=dict)


def _plugin(pipeline: str) -> tuple[PipelineDescriptor, RowScoringPlugin | FrameScoringPlugin]:
    """The pipeline's descriptor and its scoring plugin, checked against the two plugin shapes."""
    from kpredict.pipeline import get_pipeline

    descriptor = get_pipeline(pipeline, needs="scoring")
    plugin = descriptor.scoring_plugin()
    if not isinstance(plugin, (FrameScoringPlugin, RowScoringPlugin)):
        row = [name for name in ("scoring_input", "predict_chunk", "finalize", "explain", "companions") if not hasattr(plugin, name)]
        raise ConfigError(
            f"The scoring plugin of pipeline {pipeline!r} is neither a per-row plugin (it lacks {row}) nor a "
            "whole-input plugin (it lacks score_frame); see kpredict.scoring.plugin."
        )
    return descriptor, plugin


_AS_OF_FORMS = "a date like 2026-11-01 or a time like 2026-11-01T06:00:00, without a time zone"


def _parse_as_of(as_of: str | pd.Timestamp) -> pd.Timestamp:
    """An explicit, time-zone-free point in time.

    Words such as "now" or "today" are refused: a scheduled job re-run tomorrow must score the
    same date, and the feature store's timestamps carry no time zone to compare an offset with.
    """
    text = str(as_of).strip()
    if isinstance(as_of, str) and not text[:1].isdigit():
        raise ConfigError(f"as_of must be {_AS_OF_FORMS}; got {text[:40]!r} (words like 'now' are refused: re-runs must score the same date)")
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError, OverflowError):
        raise ConfigError(f"as_of must be {_AS_OF_FORMS}; got {text[:40]!r}") from None
    if stamp is pd.NaT:
        raise ConfigError(f"as_of must be {_AS_OF_FORMS}; got {text[:40]!r}")
    if stamp.tzinfo is not None:
        raise ConfigError(f"as_of must be {_AS_OF_FORMS}; got {text[:40]!r} with a time zone (give the local date and time of the data)")
    return stamp


def _check_model_choice(model: str | int) -> None:
    """A version number (1, 2, ...) or an alias name; anything else is refused before MLflow is asked."""
    import re

    if isinstance(model, (int, np.integer)) and not isinstance(model, bool) and model >= 1:
        return
    if isinstance(model, str) and (model.strip().isdigit() and int(model) >= 1 or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,255}", model.strip())):
        return
    raise ConfigError(f"model must be an alias such as 'champion' or a version number 1, 2, ...; got {str(model)[:40]!r}")


def _explain_count(explain_top: str | int | float | None, rows: int, default_fraction: float) -> int:
    """Rows to explain: 'all', an int count, a fraction in (0, 1], a percentage, or the pipeline's default."""
    if explain_top is None:
        return int(np.ceil(default_fraction * rows))
    expected = "explain_top must be 'all', a count, a percentage like '10%' or a fraction in (0, 1)"
    if isinstance(explain_top, str):
        text = explain_top.strip().lower()
        if text == "all":
            return rows
        try:
            explain_top = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise ConfigError(f"{expected}; got {text[:20]!r}") from None
    if not np.isfinite(explain_top) or explain_top < 0:
        raise ConfigError(f"{expected}; got {explain_top!r}")
    if 0 < explain_top < 1:
        return int(np.ceil(explain_top * rows))
    return min(int(explain_top), rows)


def _check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {list(allowed)}; got {value!r}")


def score(
    pipeline: str,
    as_of: str | pd.Timestamp,
    *,
    model: str | int = "champion",
    out: str | Path | None = None,
    output_dir: str | Path = "output",
    input_path: str | Path | None = None,
    config: Any = None,
    explain_top: str | int | float | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    engine: str = "local",
    strict: bool = False,
    bad_rows: str = "error",
    allow_version_mismatch: bool = False,
    write: bool = True,
    **params: Any,
) -> ScoreResult:
    """Score ``pipeline`` as of a date with a registered model and write the result.

    Args:
        pipeline: a pipeline that scores (``kpredict pipelines`` lists them).
        as_of: features are taken as of this time; it is written in the ``as_of`` column.
        model: ``"champion"`` (or another alias) or a version number.
        out: output file (``.parquet`` or ``.csv``) inside ``output_dir``; default
            ``<pipeline>_<as_of>.parquet``.
        input_path: score this features table (parquet/CSV) instead of building the input from
            the feature store (per-row pipelines).
        explain_top: rows to explain: ``"all"``, a count, ``"10%"`` or a fraction.
        chunk_rows: rows predicted at a time (bounded memory; results do not depend on it).
        engine: ``"local"`` or ``"dask"`` (map over partitions; needs the dask extra).
        strict: extra input columns are an error instead of a warning.
        bad_rows: ``"error"`` or ``"reject"`` rows with ±inf / unparseable numbers.
        write: False scores in memory only (nothing written, nothing delivered).
        params: the pipeline's own parameters (its plugin's ``params_model``), e.g. ``budget=1e6``.

    Raises:
        ConfigError, SchemaError (exit 2), ModelNotFoundError (exit 3): nothing is written then.
        DeliveryError (exit 5): everything was written but the plugin's delivery failed; the
            error's ``result`` is the ScoreResult.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    descriptor, plugin = _plugin(pipeline)
    stamp = _parse_as_of(as_of)
    if not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be a whole number of at least 1; got {chunk_rows!r}")
    _check_choice("engine", engine, ENGINES)
    _check_choice("bad_rows", bad_rows, BAD_ROWS)
    _explain_count(explain_top, 0, 0.0)  # a bad value fails now, not after the whole scoring
    _check_model_choice(model)
    check_reachable()  # a dead tracking server stops the job here, before anything is read or written
    parameters = validate_params(plugin.params_model, params, pipeline=pipeline)
    if isinstance(plugin, FrameScoringPlugin) and input_path is not None:
        raise ConfigError(f"input_path does not apply to pipeline {pipeline!r}: it reads its history from the feature store as of as_of")
    output = resolve_output_path(output_dir, out, default_name=f"{pipeline}_{stamp.date().isoformat()}.parquet") if write else None
    supplied = read_features_table(input_path) if input_path is not None else None  # a bad file fails before the model loads

    settings = descriptor.load_config(config)
    bundle = load_bundle(pipeline, model, allow_version_mismatch=allow_version_mismatch)
    estimator = plugin.load_estimator(bundle)
    timings["load_model_s"] = time.perf_counter() - started
    context = ScoringContext(pipeline, settings, stamp, bundle, parameters, engine, estimator)

    t = time.perf_counter()
    standard = {"as_of": stamp, "model_name": bundle.name, "model_version": bundle.version, "run_id": bundle.run_id}
    dropped: list[str] = []
    rejects = pd.DataFrame()
    features = None
    if isinstance(plugin, FrameScoringPlugin):
        scored = plugin.score_frame(context, estimator)
        features = scored.monitoring
        timings["predict_s"] = time.perf_counter() - t
        keys = bundle.meta["feature_spec"]["keys"]
        result = _with_standard(scored.frame, keys, standard)
        companions = {name: _with_standard(table, [c for c in keys if c in table.columns], standard) for name, table in scored.companions.items()}
        input_info = dict(scored.info)
        counts = {"rows": len(result)}
        input_info["rows"] = counts["rows"]
    else:
        result, input_info, counts, rejects, dropped, features = _score_rows(
            plugin, estimator, context, standard, timings,
            supplied=supplied, input_path=input_path, explain_top=explain_top, chunk_rows=chunk_rows, strict=strict, bad_rows=bad_rows,
        )
        companions = plugin.companions(context, result)
    counts |= {f"{name}_rows": len(table) for name, table in companions.items()}

    if not write:
        return ScoreResult(result, None, None, counts, timings, companions)
    t = time.perf_counter()
    written = {name: companion_path(output, name) for name in companions}
    content = {
        "pipeline": pipeline,
        "as_of": stamp.isoformat(),
        "model": {"name": bundle.name, "version": bundle.version, "run_id": bundle.run_id, "uri": bundle.uri},
        "input": input_info,
        "params": parameters.model_dump(mode="json"),
        "counts": counts,
        "dropped_columns": dropped,
        "engine": engine,
        "chunk_rows": chunk_rows,
        "kpredict_version": __version__,
        "monitoring": monitoring_record(bundle.meta, result, features=features),
    }
    timings["total_s"] = time.perf_counter() - started  # up to the write: the write's own time is in write_s
    content["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
    manifest = write_output_set(output, result, content, companions=companions, rejects=rejects)
    timings["write_s"] = time.perf_counter() - t
    logger.info("scored %d rows of %s as of %s -> %s", len(result), pipeline, stamp.date(), output)
    _record_monitoring(pipeline, stamp, bundle, content["monitoring"], output)
    done = ScoreResult(result, output, manifest, counts, timings, companions, written)
    try:
        plugin.deliver(context, WrittenOutput(output, manifest, written, result, companions))
    except Exception as exc:  # reported with its own exit code; the written files stay as they are
        logger.error("delivery of %s failed: %s: %s", output.name, type(exc).__name__, exc)
        raise DeliveryError(
            f"scores were written to {output} with their manifest, but delivering them failed "
            f"({type(exc).__name__}: {exc}); re-run the job to deliver again",
            result=done,
        ) from exc
    return done


def _record_monitoring(pipeline: str, stamp: pd.Timestamp, bundle: Any, record: dict[str, Any], output: Path) -> None:
    """Warn about drift and log the record to MLflow. The record is already in the manifest, so a
    tracking failure here costs the MLflow copy only: it is reported, and the job's output stands."""
    from mlflow.exceptions import MlflowException

    from kpredict.monitoring.record import log_monitoring_record
    from kpredict.tracking import relocate
    from kpredict.tracking.store import local_store_db

    found = record.get("drift") or {}
    if found.get("drifted"):
        moved = ", ".join(f"{name} ({found['feature_psi'][name]:.2f})" for name in found["drifted"][:5])
        logger.warning("input drift: %d feature(s) of %s moved past PSI %.2f against the training data: %s",
                       len(found["drifted"]), pipeline, found["psi_alert"], moved)
    if found.get("score_drifted"):
        logger.warning("score drift: the %s scores moved from the holdout's (PSI %.2f)", pipeline, found["score_psi"])
    db = local_store_db()
    if db is not None and db.exists() and not relocate.store_is_writable(db):
        logger.warning("the tracking store %s is read-only here: the monitoring record of %s is in its manifest only", db.parent, output.name)
        return
    try:
        log_monitoring_record(pipeline, stamp, bundle, record, str(output))
    except (MlflowException, OSError) as exc:
        logger.warning("the monitoring record of %s could not be logged to MLflow (%s: %s); it is in the manifest",
                       output.name, type(exc).__name__, exc)


def _with_standard(frame: pd.DataFrame, keys: list[str], standard: dict[str, Any]) -> pd.DataFrame:
    """Entity keys, then the standard columns, then the pipeline's own columns."""
    out = frame[keys].copy()
    for column in STANDARD_COLUMNS:
        out[column] = standard[column]
    rest = frame[[c for c in frame.columns if c not in keys]]
    return pd.concat([out.reset_index(drop=True), rest.reset_index(drop=True)], axis=1)


def _score_rows(plugin: RowScoringPlugin, estimator, context: ScoringContext, standard, timings, *, supplied, input_path, explain_top, chunk_rows, strict, bad_rows):
    """One output row per input row: build or read the input, validate, predict in chunks, finalize, explain."""
    t = time.perf_counter()
    bundle = context.bundle
    if supplied is not None:
        raw, input_info = supplied, {"path": str(input_path)}
    else:
        built = plugin.scoring_input(context)
        raw, input_info = built.frame, dict(built.info)
    input_info["rows"] = len(raw)
    input_info["data_hash"] = frame_hash(raw)
    spec = FeatureSpec.from_dict(bundle.meta["feature_spec"])
    validated = validate_input(raw, spec, strict=strict, bad_rows=bad_rows)
    timings["build_input_s"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = _predict(plugin, estimator, validated.frame, spec, chunk_rows, context.engine)
    timings["predict_s"] = time.perf_counter() - t

    result = validated.frame[spec.keys].copy()
    for column in STANDARD_COLUMNS:
        result[column] = standard[column]
    for column in predictions.columns:
        result[column] = predictions[column].to_numpy()
    result = plugin.finalize(context, result)  # adds columns (rank, band...), keeps rows in input order
    result["unseen_category"] = validated.unseen_category

    t = time.perf_counter()
    count = _explain_count(explain_top, len(result), bundle.meta.get("explain", {}).get("top_fraction", 0.1))
    reasons = plugin.explain(context, estimator, validated.frame, result, count)
    result = pd.concat([result.reset_index(drop=True), reasons.reset_index(drop=True)], axis=1)
    timings["explain_s"] = time.perf_counter() - t
    counts = {
        "rows": len(result),
        "rejects": len(validated.rejects),
        "unseen_category": int(result["unseen_category"].sum()) if len(result) else 0,
        "explained": count,
    }
    return result, input_info, counts, validated.rejects, validated.dropped_columns, validated.frame


def _predict(plugin, estimator, frame: pd.DataFrame, spec: FeatureSpec, chunk_rows: int, engine: str) -> pd.DataFrame:
    """Per-row predictions, chunk by chunk (or partition by partition with Dask).

    Chunks are row slices of ``frame`` itself: the model picks its columns by name, so no copy of
    the feature columns is made first.
    """
    if engine == "dask":
        from kpredict.errors import require_extra

        require_extra("dask.dataframe", "dask")
        import dask.dataframe as dd

        from kpredict.forecasting.dask_engine import dask_client

        features = frame[spec.features]  # only the features travel to the workers
        partitions = max(1, int(np.ceil(len(features) / chunk_rows)))
        ddf = dd.from_pandas(features, npartitions=partitions, sort=False)
        meta = plugin.predict_chunk(estimator, features.head(0))
        # the active client, DASK_SCHEDULER_ADDRESS's scheduler, or a local cluster for this call
        with dask_client(n_workers=2) as client:
            scored = ddf.map_partitions(lambda part: plugin.predict_chunk(estimator, part), meta=meta)
            return client.compute(scored).result().reset_index(drop=True)
    parts = [plugin.predict_chunk(estimator, frame.iloc[start : start + chunk_rows]) for start in range(0, len(frame), chunk_rows)]
    if not parts:
        return plugin.predict_chunk(estimator, frame.head(0))
    return pd.concat(parts, ignore_index=True)
