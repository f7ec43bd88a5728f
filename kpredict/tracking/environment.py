"""What a run ran on: code version, library versions, and pinned pip requirements for models.

Why read versions from package metadata: importing shap, statsforecast or lightgbm just to read
``__version__`` costs seconds, and a run must record them even when the pipeline did not use them.
Why explicit pip requirements: MLflow infers a model's requirements by loading it in a fresh
process and watching imports, which costs seconds per logged model; we know what each model uses.
"""

from __future__ import annotations

import functools
import logging
import platform
import subprocess
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

__all__ = [
    "TRACKED_LIBRARIES",
    "code_version",
    "environment_info",
    "library_versions",
    "pip_requirements",
]

logger = logging.getLogger(__name__)

#: Distributions whose versions every run records (names as on the package index).
TRACKED_LIBRARIES: tuple[str, ...] = (
    "numpy",
    "pandas",
    "scikit-learn",
    "lightgbm",
    "statsforecast",
    "mlflow",
    "shap",
    "optuna",
    "pyarrow",
)

_GIT_TIMEOUT_S = 5.0


def library_versions(names: Iterable[str] = TRACKED_LIBRARIES) -> dict[str, str | None]:
    """Versions of ``python`` and of each distribution in ``names`` (None when not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        versions[name] = _dist_version(name)
    return versions


def environment_info() -> dict[str, object]:
    """The ``environment.json`` content of a run: interpreter, platform and library versions."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "kpredict": _kpredict_version(),
        "code_version": code_version(),
        "libraries": {name: _dist_version(name) for name in TRACKED_LIBRARIES},
    }


def code_version(path: Path | None = None) -> str:
    """Git commit of the working tree holding ``path`` (``-dirty`` if changed), else the version.

    Untracked files do not count as changes (as with ``git describe --dirty``).

    Args:
        path: A file or folder inside the working tree; defaults to the kpredict package.

    Returns:
        ``"<40-hex sha>"``, ``"<sha>-dirty"``, or ``kpredict.__version__`` outside a git checkout.
    """
    folder = Path(path) if path is not None else Path(__file__).resolve().parent
    if folder.is_file():
        folder = folder.parent
    sha = _git(folder, "rev-parse", "--verify", "HEAD")
    if sha is None:
        return _kpredict_version()
    status = _git(folder, "status", "--porcelain", "--untracked-files=no")
    return f"{sha}-dirty" if status else sha


def pip_requirements(libraries: Iterable[str], *, include_mlflow: bool = True) -> list[str]:
    """Pinned pip requirement lines for the libraries a model needs at load time.

    Pass the result as ``pip_requirements=`` to ``mlflow.<flavor>.log_model`` so MLflow skips its
    requirement inference (a subprocess that loads the model: seconds per logged model).

    Args:
        libraries: Distribution names, e.g. ``["lightgbm", "pandas"]``.
        include_mlflow: Also pin ``mlflow`` itself, which every pyfunc model needs to load.

    Returns:
        Lines like ``"lightgbm==4.7.0"``, sorted, without duplicates.

    Raises:
        MissingExtraError: A library is not installed, so its version cannot be pinned.

    Examples:
        >>> pip_requirements(["lightgbm", "pandas"])  # doctest: +SKIP
        ['lightgbm==4.7.0', 'mlflow==3.17.2', 'pandas==2.3.3']
    """
    from kpredict.errors import MissingExtraError

    names = {_normalise(name) for name in libraries}
    if include_mlflow:
        names.add("mlflow")
    lines = []
    for name in sorted(names):
        version = _dist_version(name)
        if version is None:
            raise MissingExtraError(
                f"Cannot pin {name!r} for the model's requirements: it is not installed. "
                f"Install it with: pip install {name}"
            )
        lines.append(f"{name}=={version}")
    return lines


def _normalise(name: str) -> str:
    return name.strip().lower().replace("_", "-")


@functools.lru_cache(maxsize=None)
def _dist_version(name: str) -> str | None:
    # Cached: reading package metadata scans sys.path (milliseconds per name), and the
    # installed versions do not change under a running process.
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _kpredict_version() -> str:
    import kpredict

    return kpredict.__version__


def _git(folder: Path, *args: str) -> str | None:
    """Output of a git command in ``folder``, or None when git or the checkout is unavailable."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("git %s unavailable: %s", args[0], type(exc).__name__)
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip()
