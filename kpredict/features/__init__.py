"""The feature store: entities, feature views, point-in-time joins and materialisation."""

from __future__ import annotations

from kpredict.features.definitions import Entity, Feature, FeatureRepoConfig, FeatureView, Source, Text
from kpredict.features.store import FeatureStore, MaterialisationInfo

__all__ = ["Entity", "Feature", "FeatureRepoConfig", "FeatureStore", "FeatureView", "MaterialisationInfo", "Source", "Text"]
