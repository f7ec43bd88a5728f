"""Settings of ``kpredict demo`` (``configs/demo.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from kpredict.config.loader import ConfigModel

__all__ = ["DemoConfig"]


class DemoConfig(ConfigModel):
    """Where the demo company is generated and how big it is."""

    size: Literal["small", "default", "large"] = "default"
    seed: int = Field(0, ge=0, description="seed of the demo company generator")
    data_dir: str = Field("data/demo", description="where the generated tables are written")
    features: str = Field("configs/features.yaml", description="feature repository definition")
    feature_store_dir: str = Field(
        "data/feature_store", description="where materialised feature views are written"
    )
    pipelines: list[Literal["sales_forecast", "churn"]] = Field(
        default_factory=lambda: ["sales_forecast", "churn"], description="pipelines the demo trains and scores"
    )
    as_of: str = Field("2026-11-01", pattern=r"^\d{4}-\d{2}-\d{2}$", description="scoring date (the day after the demo data ends)")
    output_dir: str = Field("output", description="where scores and reports are written")
