"""The one batch scoring interface for every pipeline: ``kpredict.score(...)`` and ``kpredict score``.

resolve the model → build the input from the feature store as of a date (the same code path as
training) or read a features table → validate it against the model → predict in chunks → rank /
band → explain the top rows → write output, rejects and, last, the manifest.

A pipeline plugs in with a ``scoring`` module (``kpredict.pipelines.<name>.scoring``) that provides
``load_config``, ``load_estimator`` and either the row-wise path (``scoring_input``,
``predict_chunk``, ``finalize``, ``explain``: one output row per input row, validated against the
model's features) or the whole-input path (``score_frame``: forecasts, one row per series and
future date, plus companion tables such as the replenishment table).
"""

from __future__ import annotations

import importlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpredict import __version__
from kpredict.errors import ConfigError, DataNotFoundError
from kpredict.hashing import frame_hash
from kpredict.scoring.bundle import load_bundle
from kpredict.scoring.output import companion_path, rejects_path, resolve_output_path, write_manifest, write_table
from kpredict.scoring.validate import FeatureSpec, validate_input

__all__ = ["ScoreResult", "score"]

logger = logging.getLogger(__name__)

STANDARD_COLUMNS = ["as_of", "model_name", "model_version", "run_id"]
DEFAULT_CHUNK_ROWS = 200_000


@dataclass
class ScoreResult:
    """The scored frame and where it was written (``output`` is None when nothing was written)."""

    frame: pd.DataFrame
    output: Path | None
    manifest: Path | None
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _plugin(pipeline: str):
    from kpredict.pipelines import PIPELINES

    if pipeline not in PIPELINES:
        raise ConfigError(f"unknown pipeline {pipeline!r}; expected one of {list(PIPELINES)}")
    try:
        return importlib.import_module(f"kpredict.pipelines.{pipeline}.scoring")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith(f"kpredict.pipelines.{pipeline}"):
            raise ConfigError(f"pipeline {pipeline!r} has no scoring yet") from None
        raise


def _parse_as_of(as_of: str | pd.Timestamp) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(as_of)
    except (ValueError, TypeError):
        raise ConfigError("--as-of must be a date like 2026-11-01; got an unparseable value") from None
    if stamp is pd.NaT:
        raise ConfigError("--as-of must be a date like 2026-11-01")
    return stamp


def _explain_count(explain_top: str | int | float | None, rows: int, default_fraction: float) -> int:
    """Rows to explain: 'all', an int count, a fraction in (0, 1], or the pipeline's default."""
    if explain_top is None:
        return int(np.ceil(default_fraction * rows))
    if isinstance(explain_top, str):
        text = explain_top.strip().lower()
        if text == "all":
            return rows
        if text.endswith("%"):
            return int(np.ceil(float(text[:-1]) / 100 * rows))
        explain_top = float(text)
    if 0 < explain_top < 1:
        return int(np.ceil(explain_top * rows))
    if explain_top < 0:
        raise ConfigError("--explain-top must be 'all', a count, a percentage or a fraction")
    return min(int(explain_top), rows)


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
) -> ScoreResult:
    """Score ``pipeline`` as of a date with a registered model and write the result.

    Args:
        pipeline: one of ``kpredict.pipelines.PIPELINES``.
        as_of: features are taken as of this time; it is written in the ``as_of`` column.
        model: ``"champion"`` (or another alias) or a version number.
        out: output file (``.parquet`` or ``.csv``) inside ``output_dir``; default
            ``<pipeline>_<as_of>.parquet``.
        input_path: score this features table (parquet/CSV) instead of building the input from
            the feature store.
        explain_top: rows to explain: ``"all"``, a count, ``"10%"`` or a fraction.
        chunk_rows: rows predicted at a time (bounded memory; results do not depend on it).
        engine: ``"local"`` or ``"dask"`` (map over partitions; needs the dask extra).
        strict: extra input columns are an error instead of a warning.
        bad_rows: ``"error"`` or ``"reject"`` rows with ±inf / unparseable numbers.

    Raises:
        ConfigError, SchemaError (exit 2), ModelNotFoundError (exit 3). Nothing is written then.
    """
    timings: dict[str, float] = {}
    started = time.perf_counter()
    plugin = _plugin(pipeline)
    stamp = _parse_as_of(as_of)
    if chunk_rows < 1:
        raise ConfigError("chunk_rows must be at least 1")
    if engine not in ("local", "dask"):
        raise ConfigError(f"--engine must be 'local' or 'dask'; got {engine!r}")
    output = resolve_output_path(output_dir, out, default_name=f"{pipeline}_{stamp.date().isoformat()}.parquet") if write else None

    bundle = load_bundle(pipeline, model, allow_version_mismatch=allow_version_mismatch)
    estimator = plugin.load_estimator(bundle)
    timings["load_model_s"] = time.perf_counter() - started

    t = time.perf_counter()
    settings = plugin.load_config(config)
    standard = {"as_of": stamp, "model_name": bundle.name, "model_version": bundle.version, "run_id": bundle.run_id}
    companions: dict[str, pd.DataFrame] = {}
    dropped: list[str] = []
    rejects = pd.DataFrame()
    if hasattr(plugin, "score_frame"):
        if input_path is not None:
            raise ConfigError(f"--input is not supported for {pipeline}: it reads its history from the feature store as of --as-of")
        frame, input_info, companions = plugin.score_frame(estimator, settings, stamp, bundle, engine=engine)
        timings["predict_s"] = time.perf_counter() - t
        keys = bundle.meta["feature_spec"]["keys"]
        result = _with_standard(frame, keys, standard)
        companions = {name: _with_standard(table, [c for c in keys if c in table.columns], standard) for name, table in companions.items()}
        counts = {"rows": len(result), **{f"{name}_rows": len(table) for name, table in companions.items()}}
        input_info["rows"] = counts["rows"]
    else:
        result, input_info, counts, rejects, dropped = _score_rows(
            plugin, estimator, settings, stamp, bundle, standard, timings,
            input_path=input_path, explain_top=explain_top, chunk_rows=chunk_rows, engine=engine, strict=strict, bad_rows=bad_rows,
        )

    manifest = None
    if write:
        t = time.perf_counter()
        write_table(result, output)
        written = {}
        for name, table in companions.items():
            written[name] = companion_path(output, name)
            write_table(table, written[name])
        if len(rejects):
            write_table(rejects, rejects_path(output))
        else:
            rejects_path(output).unlink(missing_ok=True)
        timings["write_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - started
        manifest = write_manifest(
            output,
            {
                "pipeline": pipeline,
                "as_of": stamp.isoformat(),
                "model": {"name": bundle.name, "version": bundle.version, "run_id": bundle.run_id, "uri": bundle.uri},
                "input": input_info,
                "counts": counts,
                "dropped_columns": dropped,
                "companions": written,
                "timings_s": {k: round(v, 4) for k, v in timings.items()},
                "engine": engine,
                "chunk_rows": chunk_rows,
                "kpredict_version": __version__,
            },
        )
        logger.info("scored %d rows of %s as of %s -> %s", len(result), pipeline, stamp.date(), output)
    return ScoreResult(result, output, manifest, counts, timings)


def _with_standard(frame: pd.DataFrame, keys: list[str], standard: dict[str, Any]) -> pd.DataFrame:
    """Entity keys, then the standard columns, then the pipeline's own columns."""
    out = frame[keys].copy()
    for column in STANDARD_COLUMNS:
        out[column] = standard[column]
    rest = frame[[c for c in frame.columns if c not in keys]]
    return pd.concat([out.reset_index(drop=True), rest.reset_index(drop=True)], axis=1)


def _score_rows(plugin, estimator, settings, stamp, bundle, standard, timings, *, input_path, explain_top, chunk_rows, engine, strict, bad_rows):
    """One output row per input row: build or read the input, validate, predict in chunks, finalize, explain."""
    t = time.perf_counter()
    if input_path is not None:
        raw, input_info = _read_input(Path(input_path)), {"path": str(input_path)}
    else:
        raw, input_info = plugin.scoring_input(settings, stamp, bundle)
    input_info["rows"] = len(raw)
    input_info["data_hash"] = frame_hash(raw)
    spec = FeatureSpec.from_dict(bundle.meta["feature_spec"])
    validated = validate_input(raw, spec, strict=strict, bad_rows=bad_rows)
    timings["build_input_s"] = time.perf_counter() - t

    t = time.perf_counter()
    predictions = _predict(plugin, estimator, validated.frame, spec, chunk_rows, engine)
    timings["predict_s"] = time.perf_counter() - t

    result = validated.frame[spec.keys].copy()
    for column in STANDARD_COLUMNS:
        result[column] = standard[column]
    for column in predictions.columns:
        result[column] = predictions[column].to_numpy()
    result = plugin.finalize(result, bundle)  # adds columns (rank, band...), keeps rows in input order
    result["unseen_category"] = validated.unseen_category

    t = time.perf_counter()
    count = _explain_count(explain_top, len(result), bundle.meta.get("explain", {}).get("top_fraction", 0.1))
    reasons = plugin.explain(estimator, validated.frame, result, count, bundle, settings)
    result = pd.concat([result.reset_index(drop=True), reasons.reset_index(drop=True)], axis=1)
    timings["explain_s"] = time.perf_counter() - t
    counts = {
        "rows": len(result),
        "rejects": len(validated.rejects),
        "unseen_category": int(result["unseen_category"].sum()) if len(result) else 0,
        "explained": count,
    }

    return result, input_info, counts, validated.rejects, validated.dropped_columns


def _predict(plugin, estimator, frame: pd.DataFrame, spec: FeatureSpec, chunk_rows: int, engine: str) -> pd.DataFrame:
    """Per-row predictions, chunk by chunk (or partition by partition with Dask).

    Chunks are row slices of ``frame`` itself: the model picks its columns by name, so no copy of
    the feature columns is made first.
    """
    if engine == "dask":
        from kpredict.errors import require_extra

        require_extra("dask.dataframe", "dask")
        import dask.dataframe as dd

        features = frame[spec.features]  # only the features travel to the workers
        partitions = max(1, int(np.ceil(len(features) / chunk_rows)))
        ddf = dd.from_pandas(features, npartitions=partitions, sort=False)
        meta = plugin.predict_chunk(estimator, features.head(0))
        return ddf.map_partitions(lambda part: plugin.predict_chunk(estimator, part), meta=meta).compute().reset_index(drop=True)
    parts = [plugin.predict_chunk(estimator, frame.iloc[start : start + chunk_rows]) for start in range(0, len(frame), chunk_rows)]
    if not parts:
        return plugin.predict_chunk(estimator, frame.head(0))
    return pd.concat(parts, ignore_index=True)


def _read_input(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataNotFoundError(f"input file {path} does not exist")
    if path.suffix.lower() == ".parquet":
        return pd.read_parquet(path)
    if path.suffix.lower() == ".csv":
        return pd.read_csv(path)
    raise ConfigError(f"input file {path.name!r} must be .parquet or .csv")
