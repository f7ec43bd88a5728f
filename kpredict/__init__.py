"""kpredict: four recurring business decisions from one feature store, tracked in MLflow.

The public API is small and imported lazily, so ``import kpredict`` stays fast: pandas, DuckDB
and MLflow load only when a name that needs them is first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpredict._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # feature store
    "FeatureStore": "kpredict.features.store",
    "FeatureRepoConfig": "kpredict.features.definitions",
    # scoring
    "score": "kpredict.scoring.interface",
    # the business report
    "write_business_report": "kpredict.reports.business",
    # demo company
    "generate_demo": "kpredict.datasets",
    # config
    "load_config": "kpredict.config.loader",
    "check_configs": "kpredict.config",
    # errors
    "KPredictError": "kpredict.errors",
    "ConfigError": "kpredict.errors",
    "SchemaError": "kpredict.errors",
    "PointInTimeError": "kpredict.errors",
    "ModelNotFoundError": "kpredict.errors",
    "InfeasibleAllocationError": "kpredict.errors",
}
_ALIASES = {"generate_demo": "generate"}

__all__ = sorted([*_EXPORTS, "__version__"])

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from kpredict.config import check_configs
    from kpredict.config.loader import load_config
    from kpredict.datasets import generate as generate_demo
    from kpredict.errors import (
        ConfigError,
        InfeasibleAllocationError,
        KPredictError,
        ModelNotFoundError,
        PointInTimeError,
        SchemaError,
    )
    from kpredict.features.definitions import FeatureRepoConfig
    from kpredict.features.store import FeatureStore
    from kpredict.reports.business import write_business_report
    from kpredict.scoring.interface import score


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, _ALIASES)
