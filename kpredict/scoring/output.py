"""Where scoring output goes and how it is written: as one set, reproducibly, manifest last.

The table, its companions, its rejects and the manifest (with every file's sha256) are switched
into place together (:mod:`kpredict.fileset`): a kill at any instant leaves the complete previous
set or the complete new one. Output paths from the command line are confined to the output
directory unless absolute, and re-running the same job gives byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from kpredict.errors import ConfigError
from kpredict.hashing import file_hash
from kpredict.fileset import publish_set
from kpredict.io import atomic_path, write_parquet, write_text

__all__ = ["companion_path", "manifest_path", "rejects_path", "resolve_output_path", "write_output_set", "write_table"]

_FORMATS = {".parquet": "parquet", ".csv": "csv"}


def resolve_output_path(output_dir: str | Path, out: str | Path | None, *, default_name: str) -> Path:
    """Where the output goes: an absolute ``out`` as given; a relative one inside ``output_dir``.

    An absolute path is what a scheduler passes on purpose (``--out /srv/jobs/churn.csv``). A
    relative name, or the default name built from the pipeline and the date, must not climb out
    of ``output_dir`` (``../../etc/x.parquet``): that is refused.
    """
    root = Path(output_dir).resolve()
    candidate = Path(out) if out is not None else Path(default_name)
    # The folder is resolved, the file name is not: the name is a link into the current output set
    # (kpredict.fileset), and following it would write into the previous run's folder.
    if candidate.is_absolute():
        path = candidate.parent.resolve() / candidate.name
    else:
        path = (root / candidate).parent.resolve() / candidate.name
        if candidate.name in ("..", ".", "") or (root != path.parent and root not in path.parents):
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


def write_output_set(output: Path, table: pd.DataFrame, content: dict[str, Any], *, companions: dict[str, pd.DataFrame], rejects: pd.DataFrame) -> Path:
    """Write the table, its companions, its rejects (if any) and the manifest as one set.

    The manifest records each file's name and sha256; it is written last, into the same run folder.

    Returns:
        The manifest's path (beside ``output``).
    """
    writers = {output.name: lambda path: write_table(table, path)}
    companion_names = {}
    for name, frame in companions.items():
        companion_names[name] = companion_path(output, name).name
        writers[companion_names[name]] = lambda path, frame=frame: write_table(frame, path)
    if len(rejects):
        writers[rejects_path(output).name] = lambda path: write_table(rejects, path)

    def manifest(folder: Path) -> str:
        described = dict(content)
        described["output"] = {"path": output.name, "sha256": file_hash(folder / output.name)}
        if companion_names:
            described["companion_files"] = {name: {"path": file, "sha256": file_hash(folder / file)} for name, file in companion_names.items()}
        if len(rejects):
            file = rejects_path(output).name
            described["rejects_file"] = {"path": file, "sha256": file_hash(folder / file)}
        path = manifest_path(folder / output.name)
        write_text(json.dumps(described, indent=2, sort_keys=True, default=str) + "\n", path)
        return path.name

    publish_set(output, writers, manifest)
    return manifest_path(output)
