"""Settings of the churn pipeline (``configs/churn.yaml``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from kpredict.config.loader import ConfigModel
from kpredict.config.store import StoreSettings
from kpredict.monitoring.settings import MonitoringSettings

__all__ = ["ChurnConfig", "TableConfig"]


class LabelConfig(ConfigModel):
    """Who counts as churned: customers active at a snapshot who leave within ``horizon_days``."""

    definition: Literal["contractual", "non_contractual"] = Field(
        "contractual", description="contractual: the subscription ends; non_contractual: no order in the horizon"
    )
    horizon_days: int = Field(30, ge=1, le=365)
    snapshot_frequency: Literal["MS", "W-MON", "SMS"] = Field("MS", description="pandas frequency of snapshot dates")
    min_history_days: int = Field(90, ge=0, description="first snapshot this long after the data starts (the first event of the latest-starting feature view)")


class SplitConfig(ConfigModel):
    """Out-of-time split: train on earlier snapshots, validate on later ones, hold out the latest."""

    validation_snapshots: int = Field(2, ge=1)
    holdout_snapshots: int = Field(1, ge=1)
    train_snapshots: int | None = Field(
        None, ge=1,
        description="train on only the latest N snapshots before validation (after a shift, older behaviour teaches the wrong thing); null: all",
    )


class ModelConfig(ConfigModel):
    """LightGBM + optuna + calibration (see kpredict.modeling.BoostedClassifier)."""

    n_trials: int = Field(30, ge=1)
    timeout_s: float | None = Field(
        3600, gt=0, description="safety net only: n_trials decides; when this fires the run says so, because the model then depends on machine speed"
    )
    seed: int = 0
    early_stopping_rounds: int = Field(50, ge=1)
    calibration: Literal["auto", "isotonic", "sigmoid", "none"] = "auto"
    imbalance: Literal["auto", "balanced", "none"] = "auto"
    baseline_spline_knots: int = Field(
        6, ge=0, description="the logistic baseline: knots of the smooth curve each number gets (a generalised additive "
        "model, still one term per feature); 0: a straight line per number",
    )
    serve: Literal["best", "lightgbm", "logistic"] = Field(
        "best",
        description="best: whichever of LightGBM and the logistic baseline scores higher on the gate metric over the "
        "validation snapshots (a simpler model that ranks the list better is the better model); or force one",
    )

    @field_validator("baseline_spline_knots")
    @classmethod
    def _knots(cls, value: int) -> int:
        if value == 1:
            raise ValueError("model.baseline_spline_knots must be 0 (straight lines) or at least 2 (a spline needs two knots); got 1")
        return value


class DecisionConfig(ConfigModel):
    """Whom to contact: the top ``capacity`` customers, or everyone whose expected saving beats the cost."""

    policy: Literal["capacity", "cost"] = "capacity"
    capacity: int = Field(200, ge=1, description="customers the retention team can contact per run")
    contact_cost: float = Field(5.0, ge=0)
    value_saved: float = Field(120.0, gt=0, description="value of a customer kept")
    success_rate: float = Field(0.3, gt=0, le=1, description="share of contacted churners who stay")


class BandConfig(ConfigModel):
    """Probability cut-offs of the risk bands shown to business readers."""

    high: float = Field(0.30, gt=0, lt=1)
    medium: float = Field(0.10, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> BandConfig:
        if self.medium >= self.high:
            raise ValueError("risk_bands.medium must be below risk_bands.high")
        return self


class ExplainConfig(ConfigModel):
    """How many rows get reasons, and how many reasons each."""

    top_fraction: float = Field(0.10, gt=0, le=1, description="explain this share of the riskiest rows")
    reasons: int = Field(3, ge=1, le=10)


class TableConfig(ConfigModel):
    """One labelled table instead of a feature-store project: a row per customer (or per customer and
    date), the churn label and the attributes (``kpredict train churn --table FILE --target COLUMN``).

    Every other column becomes a feature of a view declared behind the scenes; the key column is
    called ``customer_id`` in every output, whatever it is called in the table.
    """

    path: str = Field(description="a .parquet or .csv file")
    target: str = Field(description="the label column: 0/1, true/false, yes/no, or name the churned value in `positive`")
    id: str | None = Field(None, description="the customer key column; none: the row number (1, 2, ...) is the key")
    time: str | None = Field(
        None, description="the date each row describes (several rows per customer allowed): the split is then out of time, by date"
    )
    positive: str | None = Field(None, description="the target value that means churned, when it is not 1/true/yes")
    holdout_fraction: float = Field(0.2, gt=0, lt=0.5, description="without `time`: the stratified share of rows the gate judges on")
    keep: list[str] = Field(default_factory=list, description="columns used as features even though they look like identifiers or names")
    drop: list[str] = Field(default_factory=list, description="columns left out of the features")

    @field_validator("keep", "drop", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """``"Surname,Phone"`` (a command-line value) as a list."""
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


class ChurnConfig(StoreSettings):
    """The whole churn pipeline: data, features, labels, split, model, decision, explanations."""

    views: list[str] = Field(
        default_factory=lambda: [
            "customer_profile",
            "customer_subscription",
            "customer_orders",
            "customer_support",
            "customer_cancellation_requests",
            "customer_satisfaction",
        ],
        min_length=1,
    )
    label: LabelConfig = Field(default_factory=LabelConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    decision: DecisionConfig = Field(default_factory=DecisionConfig)
    risk_bands: BandConfig = Field(default_factory=BandConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)
    monitoring: MonitoringSettings = Field(
        default_factory=lambda: MonitoringSettings(metric="roc_auc", threshold=0.70),
        description="kpredict evaluate: the realized metric and the threshold past which the model is stale",
    )
    table: TableConfig | None = Field(
        None, description="train from one labelled table (see TableConfig) instead of `views` over the demo's sources"
    )
    outcomes: str | None = Field(
        None,
        description="kpredict evaluate of a model trained from a table: a later copy of that table (.csv/.parquet) with the "
        "churn column filled in for the customers that were scored (same id and target columns)",
    )
    gate_metric: Literal["recall_at_capacity", "lift_at_capacity", "roc_auc", "pr_auc", "log_loss", "brier"] = Field(
        "recall_at_capacity",
        description="the gate compares this on the holdout; recall_at_capacity: churners found among the decision.capacity riskiest, as the list is used",
    )
