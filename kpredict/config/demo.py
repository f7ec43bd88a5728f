"""Settings of ``kpredict demo`` (``configs/demo.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from kpredict.config.store import StoreSettings

__all__ = ["DemoConfig"]


class DemoConfig(StoreSettings):
    """Where the demo company is generated, how big it is, and which pipelines run on it."""

    size: Literal["small", "default", "large"] = "default"
    seed: int = Field(0, ge=0, description="seed of the demo company generator")
    pipelines: list[str] = Field(
        default_factory=lambda: ["sales_forecast", "churn", "risk_anomaly", "budget"],
        description="pipelines the demo trains, scores and reports, in this order (each needs a demo step)",
    )
    as_of: str = Field("2026-11-01", pattern=r"^\d{4}-\d{2}-\d{2}$", description="scoring date (the day after the demo data ends)")
    output_dir: str = Field("output", description="where scores and reports are written")
    trials: dict[str, int] = Field(
        default_factory=dict,
        description="tuning trials per pipeline for the demo (the pipeline's --trials), e.g. churn: 15; others keep their config's",
    )

    @field_validator("pipelines")
    @classmethod
    def _known_pipelines(cls, value: list[str]) -> list[str]:
        from kpredict.pipeline import discover_pipelines

        available = sorted(name for name, d in discover_pipelines().items() if d.demo is not None)
        unknown = [name for name in value if name not in available]
        if unknown:
            raise ValueError(f"pipelines {unknown} have no demo step; expected some of {available}")
        if len(set(value)) != len(value):
            raise ValueError("each pipeline may be named once")
        return value

    @field_validator("trials")
    @classmethod
    def _tuned_pipelines(cls, value: dict[str, int]) -> dict[str, int]:
        from kpredict.pipeline import discover_pipelines

        tuned = sorted(name for name, d in discover_pipelines().items() if d.trials_key is not None)
        unknown = [name for name in value if name not in tuned]
        if unknown:
            raise ValueError(f"trials names pipeline(s) {unknown} that do not tune; pipelines that do: {tuned}")
        bad = {name: n for name, n in value.items() if n < 1}
        if bad:
            raise ValueError(f"trials must be at least 1; got {bad}")
        return value
