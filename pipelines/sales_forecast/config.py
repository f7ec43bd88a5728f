"""Settings of the sales-forecast pipeline (``configs/sales_forecast.yaml``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from kpredict.config.loader import ConfigModel
from kpredict.config.store import StoreSettings
from kpredict.resources import usable_cores
from kpredict.monitoring.settings import MonitoringSettings

__all__ = ["SalesForecastConfig", "SalesTableConfig"]


class SeriesConfig(ConfigModel):
    """Where the series come from and the input rules (../shared/RELIABILITY.md, forecasting input)."""

    source: str = Field("sales", description="feature-store source holding the sales history")
    keys: list[str] = Field(default_factory=lambda: ["store_id", "product_id"], min_length=1)
    time: str = "date"
    target: str = "units"
    freq: str = Field("D", description="pandas frequency of the series")
    gaps: Literal["error", "zero", "nan"] = Field("error", description="missing periods: error, fill 0, or NaN (then missing_target decides)")
    missing_target: Literal["error", "zero", "interpolate", "drop"] = "error"
    holidays_source: str | None = Field("holidays", description="source with future holiday dates (known-future covariate)")
    promotions_source: str | None = Field(
        "promotions",
        description="source with the promotion calendar (keys, start_date, end_date, discount), planned ahead (known-future covariate)",
    )


class CrossValidationConfig(ConfigModel):
    """Rolling-origin cross-validation: ``windows`` origins ``step`` periods apart."""

    windows: int = Field(3, ge=3, description="at least 3 origins")
    step: int | None = Field(None, ge=1, description="periods between origins (default: the horizon)")
    min_train_length: int | None = Field(None, ge=2, description="shortest history a CV window may train on")
    input_size: int | None = Field(
        None, ge=2, description="statistical models fit on at most this many latest periods, in every CV window and for the forecast (faster)"
    )


class GlobalModelConfig(ConfigModel):
    """The LightGBM model across all series (mlforecast features)."""

    enabled: bool = True
    lags: list[int] = Field(default_factory=lambda: [1, 2, 3, 7, 14, 21, 28])
    rolling_windows: list[int] = Field(default_factory=lambda: [7, 28], description="rolling means of lag 1")
    lag_rolling: list[list[int]] = Field(default_factory=list, description="further [lag, window] rolling means, e.g. [[7, 28]]")
    differences: list[int] = Field(default_factory=list, description="difference the target first, e.g. [7]")
    date_features: list[str] = Field(default_factory=lambda: ["dayofweek", "month", "dayofyear"])
    known_future: list[str] | None = Field(
        None,
        description="covariates known in advance: holiday (code per holiday), promo (0/1) and promo_discount (planned price cut) "
        "from the promotion calendar, or columns of the sales source planned ahead; null: holiday when series.holidays_source "
        "names a declared source, else none",
    )
    num_boost_round: int = Field(300, ge=10)
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(31, ge=2)
    subsample: float = Field(1.0, gt=0, le=1)
    colsample: float = Field(1.0, gt=0, le=1)


class SelectionConfig(ConfigModel):
    """Per series the best model by CV error (best) or the mean of its best ``top_k`` (ensemble); or one
    subset of at most ``top_k`` models for every series of a demand class (combination)."""

    strategy: Literal["best", "ensemble", "combination"] = "ensemble"
    top_k: int = Field(2, ge=1)


class ReplenishmentConfig(ConfigModel):
    """Order quantity = max(0, forecast over the lead time + safety stock at the service level − on hand)."""

    lead_time: int = Field(7, ge=1, description="periods between ordering and receiving")
    service_level: float = Field(0.95, gt=0.5, lt=1, description="probability of not running out during the lead time")
    inventory_view: str | None = Field(
        "store_product_inventory", description="feature view with the stock on hand per series; null: forecasts only, no order quantities"
    )
    on_hand_feature: str = "on_hand"


def _comma_list(value: Any) -> Any:
    """``"store,dept"`` (a command-line value) as ``["store", "dept"]``."""
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


class SalesTableConfig(ConfigModel):
    """A sales table of one's own instead of a feature-store project (``kpredict train sales_forecast
    --table sales.csv --id store,dept --time week --target sales``): one row per series and period.

    The frequency is inferred from the dates and picks the forecasting preset (models, season,
    horizon) unless the config sets them; a table without stock gives forecasts and no order
    quantities, one without holidays no holiday covariate.
    """

    path: str = Field(description="a .parquet or .csv file")
    id: list[str] = Field(min_length=1, description="the column(s) naming a series, e.g. store,dept")
    time: str = Field(description="the period each row describes (a date)")
    target: str = Field(description="the quantity to forecast (units, revenue)")
    on_hand: str | None = Field(None, description="units on hand at each period: order quantities are computed when given")
    known_future: list[str] = Field(
        default_factory=list,
        description="columns known ahead for the forecast periods (a holiday flag, planned promotions): rows after a series' "
        "last sale, with a blank target, carry their planned values",
    )
    holidays: str | None = Field(None, description="a country's public holidays as a covariate (holidays package), e.g. CN, US, DE, US-CA")
    freq: str | None = Field(None, description="the pandas frequency, when inferring it from the dates is not wanted (D, W-FRI, MS...)")
    gaps: Literal["zero", "error"] = Field("zero", description="a period without a row (or with a blank target) in a series' history: no sale (zero), or an error")

    _lists = field_validator("id", "known_future", mode="before")(_comma_list)


class SalesForecastConfig(StoreSettings):
    """The whole sales-forecast pipeline."""

    series: SeriesConfig = Field(default_factory=SeriesConfig)
    horizon: int = Field(28, ge=1, description="periods forecast ahead")
    season_length: int = Field(7, ge=1)
    levels: list[int] = Field(default_factory=lambda: [80, 95])
    cv: CrossValidationConfig = Field(default_factory=CrossValidationConfig)
    models: list[Any] = Field(
        default_factory=lambda: [
            {"model": "AutoETS", "params": {"model": "ZNA"}},
            "DynamicOptimizedTheta",
            {"model": "MSTL", "params": {"season_length": [7]}},
        ],
        description="statsforecast models for smooth / erratic series",
    )
    intermittent_models: list[Any] = Field(default_factory=lambda: ["CrostonSBA", "ADIDA", "IMAPA", "TSB"])
    baselines: list[Any] = Field(default_factory=lambda: ["SeasonalNaive", "Naive"])
    fallback: Any = Field("Naive", description="model for all-zero series and where every candidate fails")
    short_models: list[Any] = Field(
        default_factory=lambda: ["AutoETS", "AutoTheta"],
        description="series too short to cross-validate get the mean of these (models that need little history); [] gives them the fallback",
    )
    preset: Literal["yearly", "quarterly", "monthly", "weekly", "daily", "hourly"] | None = Field(
        None,
        description="a forecasting preset (kpredict.forecasting.presets) for the models, baselines, cv, selection and season length "
        "this file does not set itself",
    )
    global_model: GlobalModelConfig = Field(default_factory=GlobalModelConfig)
    selection: SelectionConfig = Field(default_factory=SelectionConfig)
    replenishment: ReplenishmentConfig = Field(default_factory=ReplenishmentConfig)
    n_jobs: int = Field(default_factory=usable_cores, ge=1, description="processes statsforecast uses (default: the cores this process may use)")
    seed: int = 0
    monitoring: MonitoringSettings = Field(
        default_factory=lambda: MonitoringSettings(metric="mase", threshold=1.0),
        description="kpredict evaluate: the realized metric and the threshold past which the model is stale",
    )
    gate_metric: Literal["mase", "rmsse", "wape", "smape"] = "mase"
    sample_plots: int = Field(6, ge=0, description="series drawn in the forecast plot")
    table: SalesTableConfig | None = Field(
        None, description="train from one sales table (see SalesTableConfig) instead of series.source in the feature repository"
    )

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[int]) -> list[int]:
        if not value or any(not 50 <= v < 100 for v in value):
            raise ValueError("levels must be interval levels in [50, 100), e.g. [80, 95]")
        return sorted(set(value))

    @model_validator(mode="after")
    def _models_exist(self) -> SalesForecastConfig:
        from kpredict.errors import ConfigError
        from kpredict.forecasting.models import ModelSpec

        for entry in [*self.models, *self.intermittent_models, *self.baselines, *self.short_models, self.fallback]:
            try:
                ModelSpec.parse(entry)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return self
