"""MLflow helpers: the store, the run around each training, and the model registry.

Why lazy: importing MLflow takes seconds, and ``import kpredict`` / ``kpredict --help`` must stay
fast. Names are imported from their module on first use, so ``import kpredict.tracking`` imports
neither MLflow nor pandas.

Modules:
    store: where runs and models live (``tracking_uri``, ``configure``).
    run: ``training_run`` and its ``TrainingRun`` handle.
    registry: ``register``, ``promote_if_better``, ``resolve``, ``list_models``.
    environment: code and library versions, ``pip_requirements`` for logging models.
    params: secret masking and flattening of configs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kpredict.tracking.environment import code_version, library_versions, pip_requirements
    from kpredict.tracking.registry import (
        PromotionDecision,
        ResolvedModel,
        list_models,
        model_name,
        promote_if_better,
        register,
        resolve,
    )
    from kpredict.tracking.run import TrainingRun, training_run
    from kpredict.tracking.store import configure, tracking_uri

_EXPORTS = {
    "PromotionDecision": "registry",
    "ResolvedModel": "registry",
    "TrainingRun": "run",
    "code_version": "environment",
    "configure": "store",
    "library_versions": "environment",
    "list_models": "registry",
    "model_name": "registry",
    "pip_requirements": "environment",
    "promote_if_better": "registry",
    "register": "registry",
    "resolve": "registry",
    "tracking_uri": "store",
    "training_run": "run",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
