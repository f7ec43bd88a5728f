"""The store settings every pipeline config and the demo share: where data, definitions and views live.

One base class so the three keys are named, described and defaulted once, and so the demo can hand
its own settings to every pipeline (``config.store_settings()``) without knowing their configs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from kpredict.config.loader import ConfigModel

if TYPE_CHECKING:  # pragma: no cover
    from kpredict.features import FeatureStore

__all__ = ["StoreSettings"]


class StoreSettings(ConfigModel):
    """Where the source tables, the feature definitions and the materialised views are."""

    data_dir: str = Field("data/demo", description="directory of the source tables")
    features: str = Field("configs/features.yaml", description="feature repository definition")
    feature_store_dir: str = Field("data/feature_store", description="where materialised feature views are written")

    def store_settings(self) -> dict[str, Any]:
        """The three store keys as overrides for another config (the demo passes them on)."""
        return {name: getattr(self, name) for name in StoreSettings.model_fields}

    def open_store(self) -> FeatureStore:
        """The feature store these settings describe."""
        from kpredict.features import FeatureStore

        return FeatureStore.from_yaml(self.features, data_dir=self.data_dir, store_dir=self.feature_store_dir)
