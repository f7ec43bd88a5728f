"""MLflow helpers: the store, the run around each training, and the model registry.

Why lazy: importing MLflow takes seconds, and ``import kpredict`` / ``kpredict --help`` must stay
fast. Names are imported from their module on first use, so ``import kpredict.tracking`` imports
neither MLflow nor pandas.

Modules:
    store: where runs and models live (``tracking_uri``, ``configure``).
    run: ``training_run`` and its ``TrainingRun`` handle.
    registry: ``register``, ``promote_if_better``, ``resolve``, ``list_models``.
    publish: ``publish`` (log, register, gate: the tail of every training), ``Gate``, ``TrainingResult``.
    environment: code and library versions, ``pip_requirements`` for logging models.
    params: secret masking and flattening of configs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpredict._lazy import lazy_exports

if TYPE_CHECKING:
    from kpredict.tracking.environment import (
        code_version,
        library_versions,
        pip_requirements,
    )
    from kpredict.tracking.registry import (
        PromotionDecision,
        ResolvedModel,
        list_models,
        model_name,
        promote_if_better,
        register,
        resolve,
    )
    from kpredict.tracking.publish import Gate, TrainingResult, publish
    from kpredict.tracking.run import TrainingRun, training_run
    from kpredict.tracking.store import configure, tracking_uri

_EXPORTS = {
    "Gate": "publish",
    "PromotionDecision": "registry",
    "ResolvedModel": "registry",
    "TrainingResult": "publish",
    "TrainingRun": "run",
    "code_version": "environment",
    "configure": "store",
    "library_versions": "environment",
    "list_models": "registry",
    "model_name": "registry",
    "pip_requirements": "environment",
    "promote_if_better": "registry",
    "publish": "publish",
    "register": "registry",
    "resolve": "registry",
    "tracking_uri": "store",
    "training_run": "run",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, {name: f"{__name__}.{module}" for name, module in _EXPORTS.items()})
