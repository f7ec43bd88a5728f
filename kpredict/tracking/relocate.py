"""A local model store that was moved or copied keeps working on its own.

MLflow records artifact locations as absolute ``file://`` URIs (experiments, runs, logged models,
model versions), so a copied ``models/`` folder would read, and write, the original's artifacts.
kpredict's experiments all live in ``<store>/artifacts/<experiment>``, so the folder they were
created in is known; when it is not the folder the database sits in now, the store was moved.

- A writable store is rewritten in place, once, when it is first configured (``relocate_store``):
  every recorded location under the old artifacts folder now points under the new.
- A read-only store is left as it is and locations are translated when read
  (:func:`local_artifact_uri`), so scoring from a read-only copy works too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

__all__ = ["local_artifact_uri", "moved_from", "recorded_artifact_root", "relocate_store", "store_is_writable"]

logger = logging.getLogger(__name__)

_KPREDICT_EXPERIMENT_PREFIX = "kpredict-"


@contextlib.contextmanager
def _connect(db_path: Path, *, write: bool) -> Iterator[sqlite3.Connection]:
    """A connection that commits on success and is always closed (sqlite3's own ``with`` only commits)."""
    mode = "rw" if write else "ro"
    with contextlib.closing(sqlite3.connect(f"{db_path.resolve().as_uri()}?mode={mode}", uri=True)) as connection, connection:
        yield connection


def _experiment_folders(db_path: Path) -> list[Path]:
    """The artifact folders of the store's kpredict experiments (none for a new or absent database)."""
    if not db_path.is_file():
        return []
    with _connect(db_path, write=False) as connection:
        try:
            rows = connection.execute(
                "SELECT artifact_location FROM experiments WHERE name LIKE ?", (_KPREDICT_EXPERIMENT_PREFIX + "%",)
            ).fetchall()
        except sqlite3.OperationalError:  # a brand-new database without MLflow's tables yet
            return []
    return [path for (location,) in rows if location and (path := _path_of(location)) is not None]


def recorded_artifact_root(db_path: Path) -> Path | None:
    """The artifacts folder the store's kpredict experiments were created in (None: no such experiment)."""
    parents = {folder.parent for folder in _experiment_folders(db_path)}
    if len(parents) != 1:
        return None  # none yet, or experiments made elsewhere by hand: nothing we can safely rewrite
    return parents.pop()


def moved_from(db_path: Path) -> Path | None:
    """The artifacts folder a moved store was created with; None when it was not moved.

    Moved means: the recorded folder is not ``<db folder>/artifacts``, and that folder holds the
    recorded experiments (the artifacts travelled with the database). A database copied alone
    still reads the artifacts where they are, and is left as it is.
    """
    folders = _experiment_folders(db_path)
    parents = {folder.parent for folder in folders}
    new_root = db_path.parent / "artifacts"
    if len(parents) != 1 or new_root in parents or not new_root.is_dir():
        return None
    return parents.pop() if all((new_root / folder.name).is_dir() for folder in folders) else None


def relocate_store(db_path: Path) -> int:
    """Point every location recorded under the old artifacts folder into ``<db folder>/artifacts``; rows changed."""
    old_root = moved_from(db_path)
    if old_root is None:
        return 0
    new_root = db_path.parent / "artifacts"
    changed = 0
    with _connect(db_path, write=True) as connection:
        for table, column in _text_columns(connection):
            for old, new in ((old_root.as_uri(), new_root.as_uri()), (str(old_root), str(new_root))):
                cursor = connection.execute(
                    f'UPDATE "{table}" SET "{column}" = ? || substr("{column}", ?) WHERE "{column}" = ? OR substr("{column}", 1, ?) = ?',  # table and column names come from sqlite_master
                    (new, len(old) + 1, old, len(old) + 1, old + "/"),
                )
                changed += cursor.rowcount
    logger.warning("the model store moved: %d recorded location(s) under %s now point under %s", changed, old_root, new_root)
    return changed


def local_artifact_uri(uri: str, db_path: Path | None) -> str:
    """``uri`` translated into this store's artifacts folder when the store was moved but not rewritten."""
    if db_path is None or not uri.startswith("file:"):
        return uri
    old_root = moved_from(db_path)
    new_root = db_path.parent / "artifacts"
    path = _path_of(uri)
    if old_root is None or path is None or not path.is_relative_to(old_root):
        return uri
    return (new_root / path.relative_to(old_root)).as_uri()


def store_is_writable(db_path: Path) -> bool:
    """Whether the database (and its folder, where sqlite puts its journal) can be written."""
    return os.access(db_path, os.W_OK) and os.access(db_path.parent, os.W_OK)


def _text_columns(connection: sqlite3.Connection) -> list[tuple[str, str]]:
    tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    found = []
    for table in tables:
        for _, column, kind, *_ in connection.execute(f'PRAGMA table_info("{table}")'):
            if str(kind).upper().startswith(("VARCHAR", "TEXT", "CHAR")):
                found.append((table, column))
    return found


def _path_of(location: str) -> Path | None:
    from urllib.parse import unquote, urlparse

    parsed = urlparse(location)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" and location.startswith("/"):
        return Path(location)
    return None
