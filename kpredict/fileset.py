"""An output *set* (a table, its companions, its rejects, its manifest) replaced as one.

A scheduled job writes several files that only make sense together. Replacing them one by one
means a kill between two renames leaves a table under another run's manifest. So the files of a
run are written into a fresh run folder, and the names readers open are fixed symbolic links
through one ``current`` link::

    out/churn.parquet          -> .churn.parquet.sets/current/churn.parquet
    out/churn.manifest.json    -> .churn.parquet.sets/current/churn.manifest.json
    out/.churn.parquet.sets/current -> r-<token>        (switched with one atomic rename)
    out/.churn.parquet.sets/r-<token>/...               (the files of one run)

Why links rather than "delete the old manifest first": a kill at any instant then leaves the
complete previous set or the complete new one, never a third, incomplete state, so a consumer
keeps reading yesterday's output until today's is whole. A name the new set lacks (no rejects
this time) becomes a dangling link, which reads as absent, and is removed after the switch.

Where the file system has no symbolic links, the files are moved into place one by one after
the old manifest is deleted: a kill then can leave files without a manifest, which readers
treat as incomplete (the documented rule). Leftovers of killed runs (staging folders, the
temporary files of the atomic single-file writer) are removed by the next run, under a lock
that also stops two runs from writing the same output at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from kpredict.errors import StorageError
from kpredict.io import storage_error

__all__ = ["OutputLockedError", "output_lock", "publish_set", "sets_dir"]

logger = logging.getLogger(__name__)

CURRENT = "current"
_RUN_PREFIX = "r-"
_STAGING_PREFIX = "staging-"


class OutputLockedError(StorageError):
    """Another process is writing the same output right now."""


def sets_dir(output: Path) -> Path:
    """``out/churn.parquet`` → ``out/.churn.parquet.sets`` (hidden beside the output)."""
    return output.with_name(f".{output.name}.sets")


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``output`` for the whole run; a second run fails at once.

    The lock is an advisory ``flock`` on a hidden file that is never deleted (deleting lock files
    races); the kernel releases it when the holder dies, so a killed run never blocks the next.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no flock on this platform: runs are not serialised
        logger.debug("no fcntl here; %s is written without a lock", output)
        yield
        return
    lock = output.with_name(f".{output.name}.lock")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock, "a+")  # noqa: SIM115 - held for the run, closed in finally
    except OSError as exc:
        raise storage_error(output.parent, exc) from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputLockedError(f"another kpredict run is writing {output} right now; run again when it has finished") from None
        yield
    finally:
        handle.close()


def publish_set(output: Path, writers: dict[str, Callable[[Path], None]], finish: Callable[[Path], str]) -> None:
    """Write a run's files and make them visible together.

    Args:
        output: the main output path; every file of the set lives in its folder.
        writers: file name → function writing that file at the path it is given.
        finish: called with the staging folder once every file is written; writes the manifest
            there (it may hash the files) and returns the manifest's file name.

    Raises:
        StorageError: a permission, read-only or full-disk failure, naming the path; the
            previous set is untouched then.
    """
    folder = output.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(folder, exc) from None
    with output_lock(output):
        _publish_locked(output, writers, finish)


def _publish_locked(output: Path, writers: dict[str, Callable[[Path], None]], finish: Callable[[Path], str]) -> None:
    folder = output.parent
    names = set(writers)
    _clean_leftovers(output, names)
    sets = sets_dir(output)
    staging = sets / f"{_STAGING_PREFIX}{secrets.token_hex(6)}"
    target = folder
    try:
        staging.mkdir(parents=True)
        for name, write in writers.items():
            target = output.parent / name
            write(staging / name)
        target = output.parent / "manifest"
        manifest = finish(staging)
        names.add(manifest)
        run = staging.with_name(_RUN_PREFIX + staging.name[len(_STAGING_PREFIX) :])
        os.replace(staging, run)  # a complete run folder, not yet visible
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise storage_error(target, exc) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    try:
        if _links_supported(sets):
            _switch(output, run, names, manifest)
        else:
            _move_into_place(output, run, names, manifest)
    except OSError as exc:
        raise storage_error(folder, exc) from None


def _switch(output: Path, run: Path, names: set[str], manifest: str) -> None:
    folder, sets = output.parent, run.parent
    legacy = [path for path in _our_names(output) if not path.is_symlink()]
    if legacy:  # files of a writer without links: the old manifest goes first (incomplete, as documented)
        (folder / manifest).unlink(missing_ok=True)
        for path in legacy:
            if path.name not in names:
                path.unlink(missing_ok=True)
        legacy = [path for path in legacy if path.name in names]
    for name in sorted(names):
        visible, target = folder / name, Path(sets.name) / CURRENT / name
        if not visible.is_symlink() and not visible.exists():
            os.symlink(target, visible)  # dangles (= absent) until the switch
        elif visible.is_symlink() and Path(os.readlink(visible)) != target:
            _replace_link(visible, target)  # a link someone else put here: ours replaces it, its target is untouched
    previous = _current_run(sets)
    _replace_link(sets / CURRENT, Path(run.name))  # the one atomic step
    for visible in sorted(legacy, key=lambda p: p.name == manifest):  # the manifest last
        _replace_link(visible, Path(sets.name) / CURRENT / visible.name)
    for visible in _our_names(output):
        if visible.is_symlink() and not visible.exists():
            visible.unlink()  # this run has no such file (e.g. no rejects)
    if previous is not None and previous != run:
        shutil.rmtree(previous, ignore_errors=True)


def _move_into_place(output: Path, run: Path, names: set[str], manifest: str) -> None:
    """Without symbolic links: delete the manifest, move the files, the manifest last."""
    folder = output.parent
    (folder / manifest).unlink(missing_ok=True)
    for visible in _our_names(output):
        if visible.name not in names:
            visible.unlink(missing_ok=True)
    for name in sorted(names, key=lambda n: n == manifest):
        os.replace(run / name, folder / name)
    shutil.rmtree(run, ignore_errors=True)


def _replace_link(path: Path, target: Path) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.link")
    os.symlink(target, tmp)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _current_run(sets: Path) -> Path | None:
    link = sets / CURRENT
    if not link.is_symlink():
        return None
    return sets / os.readlink(link)


def _our_names(output: Path) -> list[Path]:
    """Visible files of this output's set: the table, ``<stem>.<companion><suffix>``, the rejects
    (``<stem>.rejects.csv``) and the manifest (``<stem>.manifest.json``)."""
    stem, suffix = output.stem, output.suffix

    def ours(name: str) -> bool:
        if name == output.name or name in (f"{stem}.rejects.csv", f"{stem}.manifest.json"):
            return True
        middle = name[len(stem) + 1 : len(name) - len(suffix)]
        return name.startswith(f"{stem}.") and name.endswith(suffix) and middle.isidentifier()

    if not output.parent.is_dir():
        return []
    return sorted(p for p in output.parent.iterdir() if ours(p.name))


def _clean_leftovers(output: Path, names: set[str]) -> None:
    """Remove what killed runs left: staging/old run folders and ``.name.*.tmp`` single-file temps."""
    sets = sets_dir(output)
    current = _current_run(sets)
    if sets.is_dir():
        for entry in sets.iterdir():
            if entry.name == CURRENT or entry == current:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
    ours = names | {p.name for p in _our_names(output)}
    for entry in output.parent.iterdir():
        stale = entry.name.startswith(".") and entry.name.endswith((".tmp", ".link"))
        if stale and any(entry.name.startswith(f".{name}.") for name in ours):
            entry.unlink(missing_ok=True)


_LINK_SUPPORT: dict[Path, bool] = {}


def _links_supported(sets: Path) -> bool:
    """Whether this file system takes symbolic links (tried once per folder and process)."""
    if sets not in _LINK_SUPPORT:
        probe = sets / f".probe-{secrets.token_hex(4)}"
        try:
            os.symlink(".", probe)
            probe.unlink()
            _LINK_SUPPORT[sets] = True
        except (OSError, NotImplementedError) as exc:  # the documented fallback, said once per folder
            logger.warning("no symbolic links in %s (%s): output sets are moved into place, the manifest last", sets.parent, exc)
            _LINK_SUPPORT[sets] = False
    return _LINK_SUPPORT[sets]
