"""Settings of the budget pipeline (``configs/budget.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from kpredict.config.loader import ConfigModel
from kpredict.config.store import StoreSettings
from kpredict.resources import usable_cores
from kpredict.monitoring.settings import MonitoringSettings

__all__ = ["BudgetConfig", "BudgetTableConfig"]

Bounds = tuple[float, float]


class CarryOverConfig(ConfigModel):
    """Geometric carry-over: how much of a week's spend still works in the weeks after."""

    max_lag: int = Field(13, ge=0, le=104, description="weeks of past spend each week's carry-over reads (0: none)")
    decay: Bounds = Field((0.0, 0.8), description="plausible weekly carry-over rate, searched within these bounds")
    decay_by_channel: dict[str, Bounds] = Field(default_factory=dict, description="per-channel bounds, e.g. tv: [0.3, 0.8]")

    @field_validator("decay")
    @classmethod
    def _decay(cls, value: Bounds) -> Bounds:
        if not 0.0 <= value[0] <= value[1] < 1.0:
            raise ValueError("carry-over bounds must satisfy 0 <= low <= high < 1")
        return value


class SaturationConfig(ConfigModel):
    """Hill saturation, searched within these bounds."""

    half_saturation: Bounds = Field((0.2, 3.0), description="half-effect point, relative to the channel's mean adstocked spend")
    slope: Bounds = Field((0.5, 3.0), description="Hill slope (above 1: S-shaped)")


class SearchConfig(ConfigModel):
    """The optuna search of carry-over, saturation and the ridge penalty."""

    n_trials: int = Field(200, ge=1)
    cv_folds: int = Field(6, ge=2, description="blocks of consecutive weeks (or shuffled folds for rows without time)")
    alpha: Bounds = Field((1e-4, 10.0), description="ridge penalty on standardised columns (log scale)")
    seed: int = 0


class BootstrapConfig(ConfigModel):
    """Refits on block-bootstrapped weeks: intervals for contributions, ROI, curves and plans."""

    n_boot: int = Field(100, ge=0, description="refits (0: no intervals)")
    block_weeks: int = Field(8, ge=1, description="consecutive weeks drawn together (1 for rows without time)")
    n_trials: int = Field(30, ge=1, description="search trials per refit, judged on the weeks it left out")
    interval: float = Field(0.9, gt=0, lt=1, description="central interval of the refits")
    n_jobs: int = Field(default_factory=usable_cores, ge=1, description="bootstrap refits at once (default: the cores this process may use)")


class AllocationConfig(ConfigModel):
    """Limits of a recommended split; amounts are weekly spend per channel."""

    weeks: int = Field(13, ge=1, description="planning horizon when --weeks is not given")
    min_weekly: dict[str, float] = Field(default_factory=dict, description="per channel, e.g. search: 5000")
    max_weekly: dict[str, float] = Field(default_factory=dict)
    max_change: float | None = Field(None, gt=0, description="each channel within ±this share of its current weekly spend (null: no limit)")
    share_range: tuple[float, float] | None = Field(
        (0.7, 1.5),
        description=(
            "each channel's weekly spend within these multiples of its share of past spend times the weekly budget: "
            "the range its curves were read from (null: no limit)"
        ),
    )
    average_refits: bool = Field(
        False, description="maximise the KPI averaged over the bootstrap refits (false: the kept model's, the one with the refits' median parameters)",
    )
    risk_quantile: float | None = Field(
        None, gt=0, le=0.5,
        description="maximise this low quantile of the KPI across the bootstrap refits instead of the expected KPI (e.g. 0.1; null: expected)",
    )
    seed: int = 0

    @field_validator("share_range")
    @classmethod
    def _share_range(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (0.0 <= value[0] <= 1.0 <= value[1]):
            raise ValueError(f"share_range must be [low, high] with 0 <= low <= 1 <= high, so the past split stays allowed; got {list(value)}")
        return value


class BudgetTableConfig(ConfigModel):
    """A spend sheet of one's own instead of a feature-store source (``kpredict train budget --table
    spend.csv --time week --kpi revenue --channels tv,search``): one row per week (or per market
    without --time); a channel is named after its spend column."""

    path: str = Field(description="a .parquet or .csv file")
    time: str | None = Field(None, description="the week column; none: rows without time order (no carry-over)")
    kpi: str = Field(description="the KPI column the spend drives (revenue, sign-ups)")
    channels: list[str] = Field(min_length=1, description="the spend columns, one per channel")
    controls: list[str] = Field(default_factory=list, description="further numeric drivers with a free-sign effect (price, competitor sales)")

    @field_validator("channels", "controls", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """``"tv_S,search_S"`` (a command-line value) as a list."""
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


class BudgetConfig(StoreSettings):
    """The whole budget pipeline."""

    source: str = Field("marketing", description="feature-store source: one row per week (or per market)")
    time_column: str | None = Field("week", description="week column; null for rows without time order (no carry-over)")
    kpi_column: str = "kpi"
    channels: dict[str, str] = Field(
        default_factory=lambda: {c: f"spend_{c}" for c in ("tv", "radio", "search", "social", "display")},
        description="channel name -> spend column", min_length=1,
    )
    channel_labels_zh: dict[str, str] = Field(default_factory=dict, description="channel names in Chinese charts and texts")
    controls: list[str] = Field(default_factory=lambda: ["price_index", "promo"], description="further drivers with a free-sign effect")
    trend: bool = Field(True, description="a linear trend (rows with time only)")
    fourier_order: int = Field(2, ge=0, le=6, description="yearly season as this many sine/cosine pairs (rows with time only)")
    interactions: Literal["none", "search"] | list[tuple[str, str]] = Field(
        "none", description="synergy terms: none, search (every pair, switched on if it predicts better), or a list of pairs"
    )
    regression: Literal["ridge", "lightgbm"] = Field(
        "ridge",
        description="ridge: a Hill curve per channel with an effect >= 0; lightgbm: an increasing curve per channel learnt by "
        "trees (monotone constraints, one channel per tree) on the same carry-over and saturation",
    )
    carryover: CarryOverConfig = Field(default_factory=CarryOverConfig)
    saturation: SaturationConfig = Field(default_factory=SaturationConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    holdout_weeks: int = Field(13, ge=1, description="latest weeks held out for evaluation and the gate")
    holdout_fraction: float = Field(0.2, gt=0, lt=1, description="rows held out when rows have no time order")
    bootstrap: BootstrapConfig = Field(default_factory=BootstrapConfig)
    allocation: AllocationConfig = Field(default_factory=AllocationConfig)
    monitoring: MonitoringSettings = Field(
        default_factory=lambda: MonitoringSettings(metric="nrmse", threshold=0.15),
        description="kpredict evaluate: the realized metric and the threshold past which the model is stale",
    )
    gate_metric: Literal["nrmse", "r2", "mape"] = "nrmse"
    lift_tests: str | None = Field(
        None,
        description=(
            "CSV or parquet of measured lift experiments the model is calibrated on (relative paths: under data_dir): "
            "channel, start and end (first and last test week), spend_change (added to each test week's spend), "
            "lift (KPI the change added over the measured weeks), lift_se, and optionally measured_from / measured_to "
            "(default: the test weeks and max_lag weeks after); null: none"
        ),
    )

    table: BudgetTableConfig | None = Field(
        None, description="train from one spend sheet (see BudgetTableConfig) instead of `source` in the feature repository"
    )

    @model_validator(mode="after")
    def _known_channels(self) -> BudgetConfig:
        names = set(self.channels)
        for where, keys in (
            ("carryover.decay_by_channel", self.carryover.decay_by_channel), ("allocation.min_weekly", self.allocation.min_weekly),
            ("allocation.max_weekly", self.allocation.max_weekly), ("channel_labels_zh", self.channel_labels_zh),
        ):
            unknown = sorted(set(keys) - names)
            if unknown:
                raise ValueError(f"{where} names unknown channel(s) {unknown}; the channels are {sorted(names)}")
        if self.regression == "lightgbm" and self.interactions != "none":
            raise ValueError("regression: lightgbm keeps every channel in its own trees; set interactions: none (synergies need the ridge)")
        if isinstance(self.interactions, list):
            unknown = sorted({c for pair in self.interactions for c in pair} - names)
            if unknown:
                raise ValueError(f"interactions name unknown channel(s) {unknown}; the channels are {sorted(names)}")
        if self.lift_tests is not None and (self.regression != "ridge" or self.interactions != "none" or not self.time_column):
            raise ValueError("lift_tests calibrate the ridge without synergy terms on weekly rows; set regression: ridge, interactions: none and a time_column, or lift_tests: null")
        for channel, value in [*self.allocation.min_weekly.items(), *self.allocation.max_weekly.items()]:
            if not value >= 0:
                raise ValueError(f"weekly spend bounds must be >= 0; channel {channel!r} has {value}")
        return self
