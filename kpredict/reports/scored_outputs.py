"""What a report reads: the scoring output a job or the demo wrote for the date, else a fresh score.

The report is the reading end of the loop: ``kpredict run-jobs`` (or ``kpredict score``) writes each
pipeline's output set with its manifest; the report finds the set for its date by the manifest's
``pipeline`` and ``as_of``, checks every file against the manifest's sha256 (a set a kill left
half-replaced is never read), and only when there is none scores in memory with the champion.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kpredict.hashing import file_hash

__all__ = ["ScoredOutput", "find_scored_output", "scored_output"]

logger = logging.getLogger(__name__)


@dataclass
class ScoredOutput:
    """One pipeline's scoring output for a date: the table, its companions and where it came from."""

    pipeline: str
    as_of: pd.Timestamp
    table: pd.DataFrame
    companions: dict[str, pd.DataFrame] = field(default_factory=dict)
    model_version: str = "—"
    run_id: str | None = None
    source: Path | None = None  # the manifest read; None when scored in memory for the report


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix.lower() == ".parquet" else pd.read_csv(path)


def _intact(folder: Path, entry: dict[str, Any]) -> Path | None:
    path = folder / entry["path"]
    if not path.is_file() or file_hash(path) != entry.get("sha256"):
        return None
    return path


def _load(manifest: Path, content: dict[str, Any]) -> ScoredOutput | None:
    folder = manifest.parent
    table_path = _intact(folder, content["output"])
    if table_path is None:
        logger.warning("%s names a table that is missing or changed since it was written; not read", manifest)
        return None
    companions = {}
    for name, entry in content.get("companion_files", {}).items():
        path = _intact(folder, entry)
        if path is None:
            logger.warning("%s names a %s table that is missing or changed since it was written; not read", manifest, name)
            return None
        companions[name] = _read(path)
    model = content.get("model", {})
    return ScoredOutput(
        pipeline=content["pipeline"], as_of=pd.Timestamp(content["as_of"]), table=_read(table_path), companions=companions,
        model_version=str(model.get("version", "—")), run_id=model.get("run_id"), source=manifest,
    )


def find_scored_output(source_dir: str | Path, pipeline: str, as_of: str | pd.Timestamp) -> ScoredOutput | None:
    """The intact output set of ``pipeline`` scored as of ``as_of`` in ``source_dir`` (not its
    subfolders), or None. Several matching sets (a demo's and a job's in one folder): the newest
    manifest wins, since it is what the last run of that date wrote."""
    folder = Path(source_dir)
    day = pd.Timestamp(as_of).normalize()
    if not folder.is_dir():
        return None
    candidates = []
    for manifest in folder.glob("*.manifest.json"):
        try:
            content = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("%s is not a readable manifest (%s); skipped", manifest, exc)
            continue
        if not isinstance(content, dict) or content.get("pipeline") != pipeline or "output" not in content:
            continue
        if pd.Timestamp(content.get("as_of")).normalize() != day:
            continue
        candidates.append((manifest.stat().st_mtime, manifest.name, manifest, content))
    for _, _, manifest, content in sorted(candidates, key=lambda c: (c[0], c[1]), reverse=True):
        found = _load(manifest, content)
        if found is not None:
            return found
    return None


def scored_output(pipeline: str, as_of: str | pd.Timestamp, *, source_dir: str | Path, model: str | int = "champion",
                  config: Any = None, **options: Any) -> ScoredOutput:
    """The output :func:`find_scored_output` finds, else the pipeline scored in memory now.

    A version other than the champion always scores afresh: files in the folder were written by
    whatever served that day, not necessarily by the version asked for.
    """
    from kpredict.scoring import score

    if model == "champion":
        found = find_scored_output(source_dir, pipeline, as_of)
        if found is not None:
            logger.info("report: %s as scored in %s", pipeline, found.source)
            return found
    logger.info("report: no %s output for %s in %s; scoring it now (nothing is written)", pipeline, pd.Timestamp(as_of).date(), source_dir)
    result = score(pipeline, as_of, model=model, config=config, write=False, **options)
    frame = result.frame
    return ScoredOutput(
        pipeline=pipeline, as_of=pd.Timestamp(as_of), table=frame, companions=dict(result.companions),
        model_version=str(frame["model_version"].iloc[0]) if len(frame) and "model_version" in frame else "—",
        run_id=str(frame["run_id"].iloc[0]) if len(frame) and "run_id" in frame else None,
    )
