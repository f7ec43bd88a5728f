"""Where scoring output goes and how it is written: atomically, reproducibly, manifest last.

Readers treat an output without its manifest as incomplete, so the manifest is written after the
output and the rejects file. Output paths from the command line are confined to the output
directory, and re-running the same job gives byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from kpredict.errors import ConfigError
from kpredict.hashing import file_hash
from kpredict.io import atomic_path, write_parquet, write_text

__all__ = ["companion_path", "manifest_path", "rejects_path", "resolve_output_path", "write_manifest", "write_table"]

_FORMATS = {".parquet": "parquet", ".csv": "csv"}


def resolve_output_path(output_dir: str | Path, out: str | Path | None, *, default_name: str) -> Path:
    """Where the output goes: an absolute ``out`` as given; a relative one inside ``output_dir``.

    An absolute path is what a scheduler passes on purpose (``--out /srv/jobs/churn.csv``). A
    relative name, or the default name built from the pipeline and the date, must not climb out
    of ``output_dir`` (``../../etc/x.parquet``): that is refused.
    """
    root = Path(output_dir).resolve()
    candidate = Path(out) if out is not None else Path(default_name)
    if candidate.is_absolute():
        path = candidate.resolve()
    else:
        path = (root / candidate).resolve()
        if root != path and root not in path.parents:
            raise ConfigError(
                f"output path {str(candidate)!r} is outside the output directory {str(root)!r}; "
                "give an absolute --out, or another output_dir (CLI: --output-dir), to write elsewhere"
            )
    if path.suffix.lower() not in _FORMATS:
        raise ConfigError(f"output file {path.name!r} must end with one of {sorted(_FORMATS)}")
    return path


def manifest_path(output: Path) -> Path:
    """``x.parquet`` → ``x.manifest.json``."""
    return output.with_name(output.stem + ".manifest.json")


def rejects_path(output: Path) -> Path:
    """``x.parquet`` → ``x.rejects.csv`` (always CSV: people open it to see what was set aside)."""
    return output.with_name(output.stem + ".rejects.csv")


def companion_path(output: Path, name: str) -> Path:
    """``x.parquet`` + "replenishment" → ``x.replenishment.parquet`` (a second table of the same job)."""
    return output.with_name(f"{output.stem}.{name}{output.suffix}")


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Parquet or CSV by extension, atomically, same bytes for the same frame."""
    if _FORMATS[path.suffix.lower()] == "parquet":
        write_parquet(frame, path)
    else:
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%S")


def write_manifest(output: Path, content: dict[str, Any]) -> Path:
    """Write the run manifest (with the output's sha256) beside the output; call it last."""
    content = dict(content)
    content["output"] = {"path": output.name, "sha256": file_hash(output)}
    for name, companion in content.pop("companions", {}).items():
        content.setdefault("companion_files", {})[name] = {"path": companion.name, "sha256": file_hash(companion)}
    rejects = rejects_path(output)
    if rejects.exists():
        content["rejects_file"] = {"path": rejects.name, "sha256": file_hash(rejects)}
    path = manifest_path(output)
    write_text(json.dumps(content, indent=2, sort_keys=True, default=str) + "\n", path)
    return path
