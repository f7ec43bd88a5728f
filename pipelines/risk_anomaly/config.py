"""Settings of the risk-anomaly pipeline (``configs/risk_anomaly.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from kpredict.config.loader import ConfigModel
from kpredict.config.store import StoreSettings
from kpredict.resources import usable_cores
from kpredict.features.definitions import PositiveDuration
from kpredict.monitoring.settings import MonitoringSettings

__all__ = ["RiskAnomalyConfig", "RiskTableConfig"]


class DetectorConfig(ConfigModel):
    """The detector behind the score (see kpredict.modeling.AnomalyScorer)."""

    method: Literal["deviation", "isolation_forest"] = Field(
        "deviation", description="deviation: each aspect's surprise against the reference; isolation_forest: scikit-learn's forest"
    )
    n_estimators: int = Field(200, ge=10, description="trees (isolation_forest)")
    max_samples: int = Field(256, ge=16, description="rows each tree is grown on (isolation_forest)")
    reference_rows: int = Field(200_000, ge=1000, description="training rows scored to calibrate the 0..1 score")
    seed: int = 0
    n_jobs: int = Field(default_factory=usable_cores, ge=1, description="threads scoring row chunks at once (default: the cores this process may use)")
    network_hour_profile: bool = Field(
        True,
        description="judge a payment's hour against every account's payments at that hour; false where the times carry no "
        "time of day (a log of dates only): there every payment is at midnight and the profile says nothing",
    )


class AlertBudget(ConfigModel):
    """How many alerts people can investigate: per day, or per 1,000 events, or a score quantile.

    Exactly one is set. The threshold is learnt from the training period, never from a guessed
    contamination rate: ``per_day`` alerts a day at the training period's daily volume.
    """

    per_day: float | None = Field(25.0, gt=0)
    per_1000: float | None = Field(None, gt=0, le=1000)
    quantile: float | None = Field(None, gt=0, lt=1, description="alert above this share of training events")
    dedupe: PositiveDuration = Field("1d", description="one alert per account per period of this length")

    @model_validator(mode="after")
    def _one_budget(self) -> AlertBudget:
        given = [name for name in ("per_day", "per_1000", "quantile") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"set exactly one of per_day, per_1000, quantile; got {given or 'none'}")
        return self


class LabelsConfig(ConfigModel):
    """Known anomalies (the demo's truth, an investigation log): for evaluation and the gate only."""

    path: str = Field("truth/transactions.parquet", description="parquet file under data_dir")
    id_column: str = "txn_id"
    label_column: str = "is_anomaly"
    kind_column: str | None = "anomaly_kind"


class DeliveryConfig(ConfigModel):
    """Where alerts go: apprise URLs by channel name, secrets as ``${ENV_VAR}`` (expanded at send time)."""

    channels: dict[str, str] = Field(
        default_factory=dict, description="channel name -> apprise URL, e.g. ops: 'dingtalk://${DINGTALK_TOKEN}/'; none: nothing is sent"
    )
    min_severity: Literal["high", "critical"] = Field("high", description="alerts of at least this severity are sent")
    lang: Literal["en", "zh", "both"] = "both"
    outbox: str = Field("outbox", description="folder of unsent and sent alerts, relative to the output folder")

    @field_validator("channels")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        import re

        bad = [name for name in value if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", name)]
        if bad:
            raise ValueError(f"channel names are letters, digits, '_', '.', '-'; got {bad}")
        return value


class KpiLabelsConfig(ConfigModel):
    """Known KPI anomalies (the demo's truth): one row per series and step, for evaluation only."""

    path: str = Field("truth/store_revenue.parquet", description="parquet file under data_dir with the KPI's id and time columns")
    kind_column: str = Field("anomaly_kind", description="anomaly kind per step, empty for normal steps")


class KpiConfig(ConfigModel):
    """KPI series scored by the causal detector (kpredict.modeling.KpiDetector): ``id, time, value``."""

    source: str = Field("store_revenue", description="feature-store source with one row per series and step")
    id_column: str = "store_id"
    time_column: str = "date"
    value_column: str = "revenue"
    label_en: str | None = Field(None, description="the KPI's name in English reasons (default: value_column)")
    label_zh: str | None = Field(None, description="the KPI's name in Chinese reasons (default: value_column)")
    calendar_source: str | None = Field("holidays", description="source whose dates are calendar days (holidays); null for none")
    calendar_column: str = "date"
    evaluation_days: int = Field(365, ge=28, description="the latest days, scored causally to evaluate; the detector learns from the days before")
    # null: from the series' step (KpiDetector.for_frequency): daily 7 / 1 / 28 / 28 / 364; hourly a
    # week as the season (a day until two weeks are known), refit weekly on three weeks
    season_length: int | None = Field(None, ge=1, description="steps per seasonal cycle (7: daily data, weekly pattern); null: from the step")
    fallback_season_length: int | None = Field(None, ge=1, description="season fitted until two cycles of season_length are known (24 for hourly data with season_length 168); seasons over 48 steps are MSTL-decomposed; null: from the step")
    refit_every: int | None = Field(None, ge=1, description="steps between refits of each series' ETS parameters; null: from the step")
    min_history: int | None = Field(None, ge=8, description="steps of a series before its first score; null: from the step")
    history: int | None = Field(None, ge=16, description="latest steps the forecast is fitted on; null: from the step")
    max_run: int = Field(4, ge=2, le=30, description="a level shift is recognised within this many steps")
    spike_threshold: float = Field(3.0, gt=0, description="surprise (-log10 share) from which a step is a spike")
    shift_threshold: float = Field(3.0, gt=0, description="run surprise from which the level moves")
    min_peers: int = Field(5, ge=0, description="series scored at a step for their common movement to be taken out (0: never)")
    log_transform: bool = Field(True, description="model log(1 + value): multiplicative effects; values must be >= 0")
    alerts_per_1000: float = Field(5.0, gt=0, le=1000, description="alert budget: at most this many alerts per 1,000 series-steps")
    detect_within: int = Field(3, ge=0, description="steps after a level shift starts in which its alert counts (evaluation)")
    labels: KpiLabelsConfig | None = Field(default_factory=KpiLabelsConfig, description="null when no labels exist")


class RiskTableConfig(ConfigModel):
    """A payments (or purchases) table of one's own instead of a feature-store project
    (``kpredict train risk_anomaly --table payments.csv --id account --time ts --amount amount``):
    one row per payment; the optional context columns feed the novelty aspect, and a KPI table
    (one row per series and step) is watched by the KPI detector of the same model."""

    path: str = Field(description="a .parquet or .csv file")
    id: str = Field(description="the account (customer, card) column")
    time: str = Field(description="when the payment was made")
    time_format: str | None = Field(None, description="strftime format of --time when it is not ISO, e.g. %Y%m%d")
    amount: str = Field(description="the payment's amount")
    txn_id: str | None = Field(None, description="the payment's own id column; none: the row number")
    country: str | None = Field(None, description="context: the country (a first payment in a new one is novel)")
    channel: str | None = Field(None, description="context: the channel (web, app, store...)")
    merchant: str | None = Field(None, description="context: the kind of merchant or product")
    kpi_table: str | None = Field(None, description="a KPI table (one row per series and step) watched by the KPI detector")
    kpi_id: str | None = Field(None, description="the KPI table's series column")
    kpi_time: str | None = Field(None, description="the KPI table's time column")
    kpi_value: str | None = Field(None, description="the KPI table's value column")

    @model_validator(mode="after")
    def _kpi_columns(self) -> RiskTableConfig:
        if self.kpi_table is not None and None in (self.kpi_id, self.kpi_time, self.kpi_value):
            raise ValueError("--kpi-table needs --kpi-id, --kpi-time and --kpi-value (the series, time and value columns)")
        return self


class RiskAnomalyConfig(StoreSettings):
    """The transaction detector (events, history views, split, detector, alert budget, labels) and
    the KPI detector (``kpi``)."""

    source: str = Field("payments", description="feature-store source with one row per transaction")
    views: list[str] = Field(
        default_factory=lambda: [
            "payment_history", "payment_account_hour_history", "payment_country_history", "payment_channel_history",
            "payment_category_history", "payment_hour_profile", "payment_volume",
        ],
        min_length=1,
    )
    holdout_days: int = Field(30, ge=1, description="the latest days, held out for evaluation and the gate")
    warmup_days: int = Field(30, ge=0, description="days at the start whose events have too little history to learn from")
    train_days: int = Field(90, ge=7, description="days before the holdout whose events the detector learns from (older ones only serve as history)")
    detector: DetectorConfig = Field(default_factory=DetectorConfig)
    alerts: AlertBudget = Field(default_factory=AlertBudget)
    labels: LabelsConfig | None = Field(default_factory=LabelsConfig, description="null when no labels exist")
    reasons: int = Field(3, ge=1, le=5)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    kpi: KpiConfig | None = Field(default_factory=KpiConfig, description="KPI series to watch as well; null for payments only")
    table: RiskTableConfig | None = Field(None, description="train from one payments table (see RiskTableConfig) instead of `source` and `views`")
    monitoring: MonitoringSettings = Field(
        default_factory=lambda: MonitoringSettings(metric="precision_at_budget", threshold=0.2),
        description="kpredict evaluate: the realized metric and the threshold past which the model is stale",
    )
