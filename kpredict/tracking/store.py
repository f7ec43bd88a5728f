"""Where MLflow runs and models live: one local sqlite store by default, or MLflow's own setting.

Why a default of our own: MLflow 3 falls back to ``./mlruns`` (a file store) or a sqlite file in the
current directory, so runs from a notebook and from the CLI end up in different places. kpredict
keeps everything in ``models/`` under the project root: ``models/mlflow.db`` for runs and the
registry, ``models/artifacts/`` for artifacts.

Resolution order for the tracking URI:

1. ``MLFLOW_TRACKING_URI`` (MLflow's own variable: a server, or any database URI);
2. ``sqlite:///<KPREDICT_MODELS_DIR>/mlflow.db`` when ``KPREDICT_MODELS_DIR`` is set (relative to
   the project root when relative);
3. ``sqlite:///<root>/models/mlflow.db``, ``root`` defaulting to the current working directory.

Artifacts of a sqlite store sit beside the database file (``<dir>/artifacts``); for any other store
the server decides.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = [
    "ARTIFACTS_DIRNAME",
    "DB_FILENAME",
    "KPREDICT_MODELS_DIR",
    "MLFLOW_REGISTRY_URI",
    "MLFLOW_TRACKING_URI",
    "artifact_root",
    "check_reachable",
    "configure",
    "experiment_artifact_location",
    "local_store_db",
    "require_writable_store",
    "tracking_uri",
]

logger = logging.getLogger(__name__)

#: MLflow's variable for the tracking store; wins over everything below when set (str, unset).
MLFLOW_TRACKING_URI = "MLFLOW_TRACKING_URI"
#: MLflow's variable for the model registry; defaults to the tracking URI (str, unset).
MLFLOW_REGISTRY_URI = "MLFLOW_REGISTRY_URI"
#: Seconds to wait for a tracking server's answer before giving up (float, default 5).
KPREDICT_TRACKING_TIMEOUT_S = "KPREDICT_TRACKING_TIMEOUT_S"
#: Folder holding kpredict's local store instead of ``<root>/models`` (path, default unset).
#: A relative path is taken relative to the project root.
KPREDICT_MODELS_DIR = "KPREDICT_MODELS_DIR"

DB_FILENAME = "mlflow.db"
ARTIFACTS_DIRNAME = "artifacts"
_DEFAULT_MODELS_DIR = "models"

_lock = threading.Lock()
_configured: tuple[str, str] | None = None
_reachable: set[str] = set()
_DEFAULT_TIMEOUT_S = 5.0


def tracking_uri(root: Path | None = None) -> str:
    """Return the tracking URI kpredict uses, without touching the disk or importing MLflow.

    Args:
        root: Project root holding ``models/``; defaults to the current working directory.

    Returns:
        ``MLFLOW_TRACKING_URI`` when set, else a ``sqlite:///`` URI of an absolute path.
    """
    explicit = os.environ.get(MLFLOW_TRACKING_URI, "").strip()
    if explicit:
        return explicit
    return "sqlite:///" + (_models_dir(root) / DB_FILENAME).as_posix()


def artifact_root(uri: str) -> Path | None:
    """Folder for the artifacts of a local sqlite store (beside its db file); None for others.

    Why beside the db: a store is then one folder that can be copied, backed up or deleted whole,
    and artifacts never land in MLflow's default ``./mlruns`` of whatever directory a job ran in.
    """
    db_path = _sqlite_path(uri)
    if db_path is None:
        return None
    return db_path.parent / ARTIFACTS_DIRNAME


def experiment_artifact_location(uri: str, experiment_name: str) -> str | None:
    """Artifact location to create ``experiment_name`` with, or None to let the server decide."""
    root = artifact_root(uri)
    if root is None:
        return None
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in experiment_name)
    return (root / safe).as_uri()


def configure(uri: str | None = None) -> str:
    """Point MLflow's tracking and registry clients at kpredict's store; cheap to call repeatedly.

    The registry follows the tracking URI unless ``MLFLOW_REGISTRY_URI`` says otherwise. For a
    sqlite store the db folder is created (sqlite cannot create it); the tables are created by
    MLflow on first use.

    Args:
        uri: Tracking URI; defaults to :func:`tracking_uri`.

    Returns:
        The tracking URI now in use.
    """
    global _configured
    uri = uri or tracking_uri()
    check_reachable(uri)
    with _lock:
        registry = _registry_uri(uri)
        if _configured == (uri, registry) and _same_uri_in_mlflow(uri, registry):
            return uri
        db_path = _sqlite_path(uri)
        if db_path is not None:
            db_path.parent.mkdir(parents=True, exist_ok=True)
            _follow_a_moved_store(db_path)
        import mlflow

        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(registry)
        _configured = (uri, registry)
    logger.debug("MLflow tracking store configured (%s)", _redact(uri))
    return uri


def check_reachable(uri: str | None = None, *, timeout_s: float | None = None) -> None:
    """Fail fast when an HTTP tracking server (or registry) does not answer.

    Why: MLflow retries a dead server for minutes (7 retries with exponential back-off by
    default), and a scheduled job should rather say so in one line and stop before it has done
    or written anything. One request to the server's ``/health``; any HTTP answer, even an
    error status, means a server is there. Checked once per URI and process.

    Raises:
        TrackingUnavailableError: no answer within ``timeout_s`` (default
            ``KPREDICT_TRACKING_TIMEOUT_S`` or 5 s), naming the URI without its credentials.
    """
    uri = uri or tracking_uri()
    for target in dict.fromkeys([uri, _registry_uri(uri)]):
        if urlparse(target).scheme not in ("http", "https") or target in _reachable:
            continue
        _probe(target, _timeout(timeout_s))
        _reachable.add(target)


def _timeout(timeout_s: float | None) -> float:
    from kpredict.errors import ConfigError

    if timeout_s is not None:
        return float(timeout_s)
    text = os.environ.get(KPREDICT_TRACKING_TIMEOUT_S, "").strip()
    if not text:
        return _DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(f"{KPREDICT_TRACKING_TIMEOUT_S} must be a positive number of seconds; got {text[:20]!r}")
    return value


def _probe(uri: str, timeout_s: float) -> None:
    import urllib.error
    import urllib.request

    from kpredict.errors import TrackingUnavailableError

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout_s):  # http(s) only, checked by the caller
            return
    except urllib.error.HTTPError:
        return  # a server answered, with whatever status: it is there
    except OSError as exc:  # URLError, timeouts and refused connections are all OSErrors
        reason = getattr(exc, "reason", exc)
        cause = "no answer" if isinstance(reason, TimeoutError) else str(getattr(reason, "strerror", None) or reason)
        raise TrackingUnavailableError(
            f"the MLflow tracking server at {_redact(uri)} cannot be reached within {timeout_s:g} s ({cause}); "
            f"check {MLFLOW_TRACKING_URI} or start the server (timeout: {KPREDICT_TRACKING_TIMEOUT_S})"
        ) from None


def require_writable_store(uri: str | None = None) -> None:
    """Training records runs and models: a local store that cannot be written fails before any work.

    Raises:
        StorageError: the store's folder (or the nearest folder that exists above it) or its
            database file cannot be written; checked with ``os.access``, which also sees a
            read-only file system.
    """
    from kpredict.errors import StorageError

    db_path = _sqlite_path(uri or tracking_uri())
    if db_path is None:
        return
    existing = db_path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not os.access(existing, os.W_OK) or (db_path.exists() and not os.access(db_path, os.W_OK)):
        raise StorageError(
            f"cannot write the model store {db_path.parent}: permission denied or a read-only file system "
            f"(training records its runs and models there; point {KPREDICT_MODELS_DIR} or {MLFLOW_TRACKING_URI} at a writable store)"
        )


def _follow_a_moved_store(db_path: Path) -> None:
    """A store folder that was moved or copied: rewrite its recorded locations if it can be written.

    A read-only one is translated when artifacts are read (kpredict.tracking.relocate).
    """
    from kpredict.tracking.relocate import relocate_store, store_is_writable

    if store_is_writable(db_path):
        relocate_store(db_path)  # nothing to do unless the store was moved


def local_store_db() -> Path | None:
    """The database file of the configured local sqlite store; None for a server or another database."""
    return _sqlite_path(tracking_uri())


def _registry_uri(uri: str) -> str:
    """``MLFLOW_REGISTRY_URI`` when a user set it, else the tracking URI.

    MLflow's ``set_registry_uri`` exports the variable too, so a value equal to the one we set
    last time is ours, not the user's, and must follow a new tracking URI.
    """
    explicit = os.environ.get(MLFLOW_REGISTRY_URI, "").strip()
    if explicit and (_configured is None or explicit != _configured[1]):
        return explicit
    return uri


def _same_uri_in_mlflow(uri: str, registry: str) -> bool:
    """True when MLflow still uses the URIs we set (someone may have called set_tracking_uri)."""
    import mlflow

    return mlflow.get_tracking_uri() == uri and mlflow.get_registry_uri() == registry


def _models_dir(root: Path | None) -> Path:
    base = Path(root) if root is not None else Path.cwd()
    configured = os.environ.get(KPREDICT_MODELS_DIR, "").strip()
    folder = Path(configured).expanduser() if configured else Path(_DEFAULT_MODELS_DIR)
    if not folder.is_absolute():
        folder = base / folder
    return folder.resolve()


def _sqlite_path(uri: str) -> Path | None:
    """Database file of a ``sqlite:///`` URI; None for in-memory databases and other stores."""
    parsed = urlparse(uri)
    if parsed.scheme != "sqlite":
        return None
    path = unquote(parsed.path)
    if not path or path == "/" or ":memory:" in path:
        return None
    # sqlite:///relative.db -> path "/relative.db"; sqlite:////abs.db -> path "//abs.db"
    if path.startswith("//"):
        return Path(path[1:])
    return Path(path[1:]).resolve()


def _redact(uri: str) -> str:
    """URI without user info, so a password in a database URI never reaches a log."""
    parsed = urlparse(uri)
    if parsed.password is None and parsed.username is None:
        return uri
    host = parsed.hostname or ""
    if parsed.port:
        host = f"{host}:{parsed.port}"
    return parsed._replace(netloc=f"***@{host}").geturl()
