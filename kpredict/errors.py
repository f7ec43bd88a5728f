"""The one exception tree of kpredict.

Callers catch ours, or the builtin each one also is::

    KPredictError                                   exit code 1 unless a subclass says otherwise
    ├── ConfigError(KPredictError, ValueError)      exit 2  bad YAML, unknown key, wrong type
    ├── SchemaError(KPredictError, ValueError)      exit 2  missing column, wrong dtype, bad keys
    │   └── PointInTimeError                        exit 2  timestamps that cannot be joined safely
    ├── DataNotFoundError(KPredictError, FileNotFoundError)  exit 2  a source file is absent
    ├── ModelNotFoundError(KPredictError, LookupError)       exit 3  no such model / alias / version
    ├── InfeasibleAllocationError(KPredictError, ValueError) exit 4  e.g. minimums exceed budget
    ├── MissingExtraError(KPredictError, ImportError)        exit 2  an optional extra is not installed
    ├── StorageError(KPredictError, OSError)        exit 2  a path cannot be read or written (permission,
    │                                                       read-only or full disk, another run's lock)
    ├── TrackingUnavailableError(KPredictError, ConnectionError)  exit 3  the tracking server does not answer
    └── DeliveryError(KPredictError)                exit 5  output written, handing it on failed

Messages name columns, files, options and counts, never data values: they end up in scheduler logs.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataNotFoundError",
    "DeliveryError",
    "InfeasibleAllocationError",
    "KPredictError",
    "MissingExtraError",
    "ModelNotFoundError",
    "PointInTimeError",
    "SchemaError",
    "StorageError",
    "TrackingUnavailableError",
]


class KPredictError(Exception):
    """Base class of every error kpredict raises on purpose."""

    exit_code: int = 1


class ConfigError(KPredictError, ValueError):
    """A configuration file or option is invalid (names the file, the key path and the expectation)."""

    exit_code = 2


class SchemaError(KPredictError, ValueError):
    """Input data does not have the columns, dtypes or keys that were expected."""

    exit_code = 2


class PointInTimeError(SchemaError):
    """Timestamps cannot be joined point-in-time correctly (unparseable, mixed time zones...)."""


class DataNotFoundError(KPredictError, FileNotFoundError):
    """A data source or materialised view does not exist where the configuration says."""

    exit_code = 2


class ModelNotFoundError(KPredictError, LookupError):
    """A registered model, version or alias cannot be found or loaded."""

    exit_code = 3


class InfeasibleAllocationError(KPredictError, ValueError):
    """A requested allocation cannot satisfy its constraints (e.g. minimums exceed the budget)."""

    exit_code = 4


class MissingExtraError(KPredictError, ImportError):
    """An optional dependency group is needed; the message gives the exact install line."""

    exit_code = 2


class StorageError(KPredictError, OSError):
    """A file or folder cannot be read or written: permission, read-only or full disk, a lock.

    The message names the path and the cause in one line; what was written before stays intact.
    """

    exit_code = 2


class TrackingUnavailableError(KPredictError, ConnectionError):
    """The MLflow tracking server cannot be reached (checked before any work is done)."""

    exit_code = 3


class DeliveryError(KPredictError):
    """The scoring output and its manifest were written, but delivering them (alerts...) failed.

    ``result`` holds what was written; re-running the job rewrites the same files and delivers again.
    """

    exit_code = 5

    def __init__(self, message: str, result: object = None) -> None:
        super().__init__(message)
        self.result = result


def require_extra(module: str, extra: str) -> None:
    """Import ``module`` or fail with the exact ``pip install`` line for ``extra``."""
    import importlib

    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module!r} is needed for this feature but is not installed. "
            f"Install it with: pip install 'kpredict[{extra}]'"
        ) from exc
