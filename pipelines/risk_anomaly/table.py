"""A company's own payments (or purchases) table in: the risk detector without a feature repository.

``kpredict train risk_anomaly --table payments.csv --id account --time ts --amount amount
[--country COL] [--channel COL] [--merchant COL] [--kpi-table kpis.csv --kpi-id store --kpi-time date
--kpi-value revenue]``

The table (one row per payment) is read once and typed: the account key as text, the time as a
timestamp, the amount as a number, the optional context columns as text. It is written to the
feature store as a parquet file named by its content, and the detector's history views (the same
definitions the demo company's repository declares) are declared over it behind the scenes, so
training and scoring use the same point-in-time joins. A context column the table lacks is one
value for every payment: its novelty (a first payment in a new country) never fires. A KPI table
(one row per series and step) joins the same model as its KPI detector.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kpredict.errors import ConfigError, SchemaError
from kpredict.features import FeatureRepoConfig, FeatureStore
from kpredict.features.own_tables import read_timestamps, write_once
from kpredict.pipelines.risk_anomaly.config import RiskAnomalyConfig, RiskTableConfig

__all__ = ["open_table", "prepare_payments", "recorded_table"]

PAYMENTS = "table_payments"
KPI_SOURCE = "table_kpi"
#: the detector's context columns and the option naming each in a table
CONTEXT = {"country": "--country", "channel": "--channel", "merchant_category": "--merchant"}
_ALL = "all"  # a context the table does not have: one value for every payment


def _entity(keys: list[str], en: str, zh: str) -> dict[str, Any]:
    return {"join_keys": keys, "description": {"en": en, "zh": zh}}


def _count_view(entity: str, window: str, name: str, en: str, zh: str, view_en: str, view_zh: str) -> dict[str, Any]:
    return {
        "entities": [entity], "source": "payments", "event_timestamp": "ts", "description": {"en": view_en, "zh": view_zh},
        "features": [{"name": name, "transform": {"kind": "window", "agg": "count", "window": window}, "description": {"en": en, "zh": zh}}],
    }


def _window(name: str, agg: str, column: str, en: str, zh: str) -> dict[str, Any]:
    return {"name": name, "transform": {"kind": "window", "agg": agg, "column": column, "window": "90d"}, "description": {"en": en, "zh": zh}}


def payment_repository(payments_path: Path, kpi_path: Path | None) -> FeatureRepoConfig:
    """The detector's history views over a prepared payments file (and the KPI source, if any)."""
    sources: dict[str, Any] = {
        "transactions": {"kind": "parquet", "path": str(payments_path.resolve())},
        "payments": {
            "kind": "sql",
            "query": "SELECT txn_id, account_id, ts, amount, ln(greatest(amount, 0.01)) AS log_amount, "
            "hour(ts) + minute(ts) / 60.0 AS hour_of_day, hour(ts) AS payment_hour, 'all' AS network, "
            "country, channel, merchant_category FROM transactions",
        },
    }
    if kpi_path is not None:
        sources[KPI_SOURCE] = {"kind": "parquet", "path": str(kpi_path.resolve())}
    history = {
        "entities": ["account"], "source": "payments", "event_timestamp": "ts", "ttl": "365d",
        "description": {"en": "the account's payments before this one", "zh": "该账户此前的支付"},
        "features": [
            {"name": "payments_10min", "transform": {"kind": "window", "agg": "count", "window": "10min"},
             "description": {"en": "payments in the previous 10 minutes", "zh": "前10分钟内支付笔数"}},
            {"name": "payments_90d", "transform": {"kind": "window", "agg": "count", "window": "90d"},
             "description": {"en": "payments in the previous 90 days", "zh": "前90天内支付笔数"}},
            _window("log_amount_mean_90d", "mean", "log_amount", "typical payment size over 90 days (log)", "近90天典型支付金额（对数）"),
            _window("log_amount_std_90d", "std", "log_amount", "spread of payment sizes over 90 days (log)", "近90天支付金额波动（对数）"),
            _window("hour_mean_90d", "mean", "hour_of_day", "usual hour of payment over 90 days", "近90天常见支付时段"),
            _window("hour_std_90d", "std", "hour_of_day", "spread of payment hours over 90 days", "近90天支付时段波动"),
            {"name": "hours_since_previous_payment", "transform": {"kind": "recency", "unit": "hours"},
             "description": {"en": "hours since the previous payment", "zh": "距上一笔支付小时数"}},
        ],
    }
    return FeatureRepoConfig.model_validate({
        "entities": {
            "account": _entity(["account_id"], "a payment account", "支付账户"),
            "account_country": _entity(["account_id", "country"], "a payment account in one country", "支付账户在某国家"),
            "account_channel": _entity(["account_id", "channel"], "a payment account on one channel", "支付账户在某渠道"),
            "account_merchant_category": _entity(["account_id", "merchant_category"], "a payment account with one kind of merchant", "支付账户在某类商户"),
            "account_hour": _entity(["account_id", "payment_hour"], "a payment account at one hour of the day", "支付账户在一天中的某个小时"),
            "payment_hour": _entity(["payment_hour"], "an hour of the day (0-23) across all accounts", "全部账户在一天中的某个小时（0-23）"),
            "payment_network": _entity(["network"], "all payments of the network", "全网支付"),
        },
        "sources": sources,
        "feature_views": {
            "payment_history": history,
            "payment_country_history": _count_view(
                "account_country", "365d", "payments_in_country_365d", "payments in this country in the previous year", "前一年在该国家的支付笔数",
                "the account's earlier payments in this country", "该账户此前在该国家的支付"),
            "payment_channel_history": _count_view(
                "account_channel", "365d", "payments_on_channel_365d", "payments on this channel in the previous year", "前一年在该渠道的支付笔数",
                "the account's earlier payments on this channel", "该账户此前在该渠道的支付"),
            "payment_category_history": _count_view(
                "account_merchant_category", "365d", "payments_in_category_365d", "payments with this kind of merchant in the previous year",
                "前一年在该类商户的支付笔数", "the account's earlier payments with this kind of merchant", "该账户此前在该类商户的支付"),
            "payment_account_hour_history": _count_view(
                "account_hour", "90d", "account_payments_at_this_hour_90d", "the account's payments at this hour of the day in the previous 90 days",
                "前90天该账户在该时段的支付笔数", "the account's earlier payments at this hour of the day", "该账户此前在该时段的支付"),
            "payment_hour_profile": _count_view(
                "payment_hour", "90d", "payments_at_this_hour_90d", "payments by all accounts at this hour of the day in the previous 90 days",
                "前90天全部账户在该时段的支付笔数", "all accounts' earlier payments at this hour of the day", "全部账户此前在该时段的支付"),
            "payment_volume": _count_view(
                "payment_network", "90d", "network_payments_90d", "payments by all accounts in the previous 90 days", "前90天全网支付笔数",
                "all earlier payments of the network", "全网此前的支付"),
        },
    })


def prepare_payments(frame: pd.DataFrame, table: RiskTableConfig) -> pd.DataFrame:
    """``txn_id, account_id, ts, amount, country, channel, merchant_category`` in the table's row order."""
    named = {"--id": table.id, "--time": table.time, "--amount": table.amount, "--txn-id": table.txn_id,
             **{option: getattr(table, _option_field(option)) for option in CONTEXT.values()}}
    missing = [f"{option} {column!r}" for option, column in named.items() if column is not None and column not in frame.columns]
    if missing:
        raise SchemaError(f"payments table {table.path} has no column {', '.join(missing)}; its columns: {list(frame.columns)}")
    accounts = frame[table.id].astype("string").str.strip()
    if accounts.isna().any():
        raise SchemaError(f"payments table {table.path}: --id column {table.id!r} is empty in {int(accounts.isna().sum())} row(s)")
    stamps = read_timestamps(frame[table.time], what=f"payments table {table.path}", option="--time", fmt=table.time_format,
                             hint="" if table.time_format else "; give its format with --time-format, e.g. %Y%m%d")
    amount = pd.to_numeric(frame[table.amount], errors="coerce")
    if amount.isna().any():
        example = frame.loc[amount.isna(), table.amount].iloc[0]
        raise SchemaError(f"payments table {table.path}: --amount column {table.amount!r} must hold numbers; {int(amount.isna().sum())} row(s) do not, e.g. {example!r}")
    ids = frame[table.txn_id].astype("string") if table.txn_id else pd.Series([f"T{i:09d}" for i in range(1, len(frame) + 1)], index=frame.index)
    if ids.duplicated().any():
        raise SchemaError(f"payments table {table.path}: --txn-id column {table.txn_id!r} repeats {int(ids.duplicated().sum())} value(s); one row per payment")
    prepared = pd.DataFrame({"txn_id": ids.astype(object).to_numpy(), "account_id": accounts.astype(object).to_numpy(),
                             "ts": stamps.to_numpy(), "amount": amount.astype(np.float64).to_numpy()})
    for column, option in CONTEXT.items():
        source = getattr(table, _option_field(option))
        prepared[column] = frame[source].astype("string").fillna("").astype(object).to_numpy() if source else _ALL
    return prepared


def _option_field(option: str) -> str:
    return option.removeprefix("--")


def prepare_kpi(frame: pd.DataFrame, table: RiskTableConfig) -> pd.DataFrame:
    """``series, ds, value`` of the KPI table (one row per series and step)."""
    named = {"--kpi-id": table.kpi_id, "--kpi-time": table.kpi_time, "--kpi-value": table.kpi_value}
    missing = [f"{option} {column!r}" for option, column in named.items() if column not in frame.columns]
    if missing:
        raise SchemaError(f"KPI table {table.kpi_table} has no column {', '.join(missing)}; its columns: {list(frame.columns)}")
    stamps = read_timestamps(frame[table.kpi_time], what=f"KPI table {table.kpi_table}", option="--kpi-time")
    values = pd.to_numeric(frame[table.kpi_value], errors="coerce")
    if values.isna().any():
        raise SchemaError(f"KPI table {table.kpi_table}: --kpi-value column {table.kpi_value!r} must hold numbers; {int(values.isna().sum())} row(s) do not")
    return pd.DataFrame({"series": frame[table.kpi_id].astype(str).to_numpy(), "ds": stamps.to_numpy(),
                         "value": values.astype(np.float64).to_numpy()})


def open_table(config: RiskAnomalyConfig, recorded: dict[str, Any] | None = None) -> tuple[RiskAnomalyConfig, FeatureStore, dict[str, Any]]:
    """(the config reading the table, a store over it with the detector's views, what the model records).

    ``recorded``: the model's record at scoring (read quietly, the hours judged as at training);
    at training what was read is printed.
    """
    from kpredict.progress import note
    from kpredict.scoring.input_file import read_table

    table = config.table
    if table is None:
        raise ConfigError("open_table needs config.table (a payments table)")
    payments = prepare_payments(read_table(table.path, role="payments table"), table)
    directory = Path(config.feature_store_dir) / "_tables"
    payments_path = write_once(payments, directory, PAYMENTS)
    kpi_path = None
    if table.kpi_table is not None:
        kpi_path = write_once(prepare_kpi(read_table(table.kpi_table, role="KPI table"), table), directory, KPI_SOURCE)
    store = FeatureStore(payment_repository(payments_path, kpi_path), data_dir=directory, store_dir=config.feature_store_dir)
    update: dict[str, Any] = {"source": "payments", "labels": None}
    # decided on what the detector learns from, the days before the holdout (a few timed rows added since do not change it)
    learnt = payments["ts"] < payments["ts"].max().normalize() - pd.Timedelta(days=config.holdout_days - 1)
    dates_only = bool(learnt.any() and (payments.loc[learnt, "ts"] == payments.loc[learnt, "ts"].dt.normalize()).all())
    if dates_only and recorded is None:
        update["detector"] = {**config.detector.model_dump(), "network_hour_profile": False}
    elif recorded is not None:  # scoring reads the hours as the model learnt them, whatever the later table holds
        update["detector"] = {**config.detector.model_dump(), "network_hour_profile": recorded["network_hour_profile"]}
    if "alerts" not in config.model_fields_set:  # a budget relative to the table's volume, not the demo's 25 a day
        update["alerts"] = {"per_day": None, "per_1000": 5.0, "dedupe": config.alerts.dedupe}
    update["kpi"] = None if kpi_path is None else {
        **(config.kpi.model_dump() if config.kpi is not None else {}),
        "source": KPI_SOURCE, "id_column": "series", "time_column": "ds", "value_column": "value", "label_en": table.kpi_value,
        "label_zh": table.kpi_value, "calendar_source": None, "labels": None,
    }
    effective = RiskAnomalyConfig.model_validate({**config.model_dump(), **update})
    if recorded is None:
        context = [f"{column} from {getattr(table, _option_field(option))!r}" for column, option in CONTEXT.items() if getattr(table, _option_field(option))]
        span = f"{payments['ts'].min()} to {payments['ts'].max()}"
        note(f"payments table {table.path}: {len(payments):,} payments of {payments['account_id'].nunique():,} accounts, {span}; "
             f"novelty from {', '.join(context) if context else 'no context column (--country/--channel/--merchant)'}; "
             f"alert budget {effective.alerts.per_1000 or effective.alerts.per_day} {'per 1,000 payments' if effective.alerts.per_1000 else 'a day'}"
             + (f"; KPI series from {table.kpi_table}" if kpi_path is not None else ""))
        if dates_only:
            note("payments table: every time is midnight (dates without a time of day): a payment's hour is judged against "
                 "the account's own history only, not against every account's hours")
    return effective, store, {**table.model_dump(), "network_hour_profile": effective.detector.network_hour_profile}


def recorded_table(recorded: dict[str, Any], path: str | None, kpi_path: str | None = None) -> RiskTableConfig:
    """The table settings a model recorded, reading ``path`` (default: its training table)."""
    fields = {k: v for k, v in recorded.items() if k in RiskTableConfig.model_fields}
    return RiskTableConfig.model_validate({**fields, "path": path or recorded["path"], "kpi_table": kpi_path or recorded.get("kpi_table")})
