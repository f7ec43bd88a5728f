"""How the risk detectors plug into the one scoring interface: a per-row plugin.

Every payment in the ``window`` before ``as_of`` is scored with its features as of its own time;
the plugin adds the severity band and the alert flag, explains the alerts in zh / en, and writes an
**alerts** table beside the scored rows: one alert per account per ``dedupe`` period, its most
anomalous payment, with the reasons. Where the model has a KPI detector, every KPI step in the
window is scored causally too: a **kpi** table (same columns: keys, event id, ts, score, severity,
alert flag, reasons) and a **kpi_alerts** table, one alert per series per ``dedupe`` period.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from kpredict.config.loader import ConfigModel
from kpredict.errors import ConfigError
from kpredict.features.definitions import PositiveDuration, parse_duration
from kpredict.pipelines.risk_anomaly.events import FEATURES, KEYS, event_features, feature_definitions, load_events, read_events
from kpredict.pipelines.risk_anomaly.model import event_scorer, kpi_detector
from kpredict.pipelines.risk_anomaly.train import PREDICTION
from kpredict.scoring.plugin import RowScoring, ScoringContext, ScoringInput, WrittenOutput, descending_rank

__all__ = ["PLUGIN", "RiskParams", "RiskScoring"]

SEVERITIES = ("low", "medium", "high", "critical")
_SEVERITY_ZH = {"low": "低", "medium": "中", "high": "高", "critical": "严重"}


class RiskParams(ConfigModel):
    """``--window 1d``: score the payments of this long a period before ``--as-of``; ``--table``: a later
    payments table for a model trained from one (default: its training table)."""

    window: PositiveDuration = Field("1d", description="period before as_of whose payments are scored, e.g. 1d, 12h, 7d")
    table: str | None = Field(None, description="a model trained from a table: score this later payments table (same columns) instead of its training table")
    kpi_table: str | None = Field(None, description="a model trained with a KPI table: watch this later KPI table instead")


def _resolved(context: ScoringContext) -> tuple[Any, Any]:
    """(config, store) the job reads: the feature repository, or the table a table-trained model
    names (``--table``, else the config's table, else its training table), opened once per job."""
    cached = context.__dict__.get("_risk_source")
    if cached is not None:
        return cached
    recorded = context.bundle.meta.get("table")
    if recorded is None:
        if context.params.table or context.params.kpi_table:
            raise ConfigError("--table scores a payments table with a model trained from one; this model was trained on the feature repository")
        resolved = (context.config, context.config.open_store())
    else:
        from kpredict.pipelines.risk_anomaly.table import open_table, recorded_table

        table = recorded_table(recorded, context.params.table or (context.config.table.path if context.config.table else None), context.params.kpi_table)
        resolved = open_table(context.config.model_copy(update={"table": table}), recorded)[:2]
    context.__dict__["_risk_source"] = resolved
    return resolved


class RiskScoring(RowScoring):
    """Payments in the window → 0..1 anomaly score → severity, alert flag → reasons → alerts table."""

    params_model = RiskParams

    def scoring_input(self, context: ScoringContext) -> ScoringInput:
        """The window's payments with their features as of their own time (the training code path)."""
        config, store = _resolved(context)
        start = context.as_of - parse_duration(context.params.window)
        source = read_events(config, store)
        events = load_events(config, store, start=start, end=context.as_of, source=source)
        frame = event_features(config, store, events, source=source)
        where = {"data_dir": str(config.data_dir)} if config.table is None else {"table": str(config.table.path)}
        info = {"feature_views": store.view_hashes(context.bundle.meta["views"]), "window_start": start.isoformat(), **where}
        return ScoringInput(frame, info)

    def predict_chunk(self, estimator: Any, features: pd.DataFrame) -> pd.DataFrame:
        """The 0..1 anomaly score per payment."""
        if len(features) == 0:
            return pd.DataFrame({PREDICTION: pd.Series([], dtype=np.float64)})
        return pd.DataFrame({PREDICTION: estimator.score_samples(features[FEATURES])})

    def finalize(self, context: ScoringContext, result: pd.DataFrame) -> pd.DataFrame:
        """Severity band, alert flag and rank (1 = most anomalous; ties by event id)."""
        meta = context.bundle.meta
        score = result[PREDICTION].to_numpy()
        cut = meta["severity"]
        result["severity"] = np.select([score >= cut["critical"], score >= cut["high"], score >= cut["medium"]], ["critical", "high", "medium"], "low")
        result["is_alert"] = score >= meta["alert_threshold"]
        result["rank"] = descending_rank(score, result["txn_id"].to_numpy())
        return result

    def explain(self, context: ScoringContext, estimator: Any, features: pd.DataFrame, result: pd.DataFrame, count: int) -> pd.DataFrame:
        """Reasons for every alert (and the ``count`` most anomalous rows): the most surprising values
        of the aspect that made the score, as zh / en sentences."""
        from kpredict.explain import top_reasons

        k = int(context.bundle.meta.get("reasons", 3))
        chosen = np.flatnonzero(result["is_alert"].to_numpy() | (result["rank"].to_numpy() <= count))
        rows = features.iloc[chosen][FEATURES].reset_index(drop=True)
        weights = aspect_weighted_surprises(event_scorer(estimator), rows)
        contributions = np.column_stack([weights, np.zeros(len(rows))])
        reasons = top_reasons(contributions, rows, feature_definitions(_resolved(context)[1]), k=k)
        reasons.index = chosen
        full = reasons.reindex(range(len(result)))
        text = [c for c in full.columns if not c.endswith("_shap")]
        full[text] = full[text].fillna("")
        return full

    def companions(self, context: ScoringContext, result: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """``alerts``: per account and ``dedupe`` period, its most anomalous alerting payment."""
        alerts = result[result["is_alert"].to_numpy()].sort_values([PREDICTION, "txn_id"], ascending=[False, True], kind="mergesort")
        alerts = _first_per_period(alerts, "account_id", context.bundle.meta["alerts"]["dedupe"])
        reasons = [c for c in alerts.columns if c.startswith("reason_") and c.endswith(("_en", "_zh", "_feature"))]
        columns = [*KEYS, "period_start", "as_of", "model_name", "model_version", "run_id", PREDICTION, "severity", "rank", *reasons]
        tables = {"alerts": alerts[columns].sort_values("rank", kind="mergesort").reset_index(drop=True)}
        return tables | self._kpi_tables(context)

    def _kpi_tables(self, context: ScoringContext) -> dict[str, pd.DataFrame]:
        """``kpi``: every KPI step in the window, scored causally; ``kpi_alerts``: one per series and period."""
        from kpredict.pipelines.risk_anomaly.kpi import KPI_TABLE, score_kpi

        detector = kpi_detector(context.estimator)
        config, store = _resolved(context)
        spec = config.kpi
        meta = context.bundle.meta.get("kpi")
        if detector is None or spec is None or meta is None:
            return {}
        start = context.as_of - parse_duration(context.params.window)
        rows = score_kpi(config, store, detector, as_of=context.as_of, start=start, severity=meta["severity"])
        if rows.empty:
            return {}
        standard = {"as_of": context.as_of, "model_name": context.bundle.name, "model_version": context.bundle.version, "run_id": context.bundle.run_id}
        rows = rows.assign(**standard)
        rows = rows[[spec.id_column, *standard, *[c for c in rows.columns if c not in (spec.id_column, *standard)]]]
        alerts = _first_per_period(rows[rows["is_alert"].to_numpy()], spec.id_column, context.bundle.meta["alerts"]["dedupe"])
        return {KPI_TABLE: rows, f"{KPI_TABLE}_alerts": alerts.reset_index(drop=True)}

    def deliver(self, context: ScoringContext, written: WrittenOutput) -> None:
        """Send the alerts to the configured channels through the outbox (nothing lost, nothing twice).

        Raises:
            RuntimeError: a channel failed; its alerts wait in the outbox for the next run.
        """
        from kpredict.delivery import Outbox, deliver

        settings = context.config.delivery
        if not settings.channels:
            return
        root = Path(settings.outbox)
        root = (root if root.is_absolute() else written.output.parent / root) / context.pipeline
        messages = alert_messages(written.companion_frames["alerts"], context.pipeline, min_severity=settings.min_severity, lang=settings.lang)
        if "kpi_alerts" in written.companion_frames:
            messages += kpi_alert_messages(
                written.companion_frames["kpi_alerts"], context.pipeline, context.config.kpi, min_severity=settings.min_severity, lang=settings.lang
            )
        report = deliver(messages, settings.channels, Outbox(root))
        if not report.ok:
            reasons = "; ".join(f"{name}: {why}" for name, why in sorted(report.failed.items()))
            raise RuntimeError(f"{sum(report.waiting.values())} alert message(s) wait in the outbox {root} ({reasons}); they go out on the next run")


def _first_per_period(alerts: pd.DataFrame, key: str, dedupe: str) -> pd.DataFrame:
    """The first row (in the given order) per ``key`` and ``dedupe`` period, with its ``period_start``."""
    period = pd.to_datetime(alerts["ts"]).dt.floor(pd.Timedelta(parse_duration(dedupe)))
    return alerts.assign(period_start=period.to_numpy()).drop_duplicates([key, "period_start"], keep="first")


def _at_least(alerts: pd.DataFrame, min_severity: str) -> pd.DataFrame:
    return alerts[alerts["severity"].map(SEVERITIES.index) >= SEVERITIES.index(min_severity)]


def _message(ident: str, title: dict[str, str], body: dict[str, str], lang: str):
    """A message with a file-name-safe id, in English, Chinese or both."""
    from kpredict.delivery import Message

    languages = ("en", "zh") if lang == "both" else (lang,)
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", ident)
    return Message(safe, " / ".join(title[code] for code in languages), "\n\n".join(body[code] for code in languages))


def alert_messages(alerts: pd.DataFrame, pipeline: str, *, min_severity: str, lang: str) -> list:
    """One message per alert of at least ``min_severity``: stable id, title and reasons in zh / en."""
    messages = []
    for row in _at_least(alerts, min_severity).itertuples(index=False):
        reasons = {code: [getattr(row, f"reason_{i}_{code}", "") for i in range(1, 4)] for code in ("en", "zh")}
        title = {"en": f"[{row.severity}] unusual payment on account {row.account_id}", "zh": f"【{_SEVERITY_ZH[row.severity]}】账户 {row.account_id} 出现异常支付"}
        body = {
            "en": "\n".join([f"payment {row.txn_id} at {row.ts}, anomaly score {row.anomaly_score:.4f}", *[f"- {r}" for r in reasons["en"] if r]]),
            "zh": "\n".join([f"支付 {row.txn_id}，时间 {row.ts}，异常分 {row.anomaly_score:.4f}", *[f"- {r}" for r in reasons["zh"] if r]]),
        }
        messages.append(_message(f"{pipeline}-{row.account_id}-{row.txn_id}", title, body, lang))
    return messages


def kpi_alert_messages(alerts: pd.DataFrame, pipeline: str, spec: Any, *, min_severity: str, lang: str) -> list:
    """One message per KPI alert of at least ``min_severity``: stable id, title and reason in zh / en."""
    messages = []
    for row in _at_least(alerts, min_severity).to_dict("records"):
        key, day = row[spec.id_column], pd.Timestamp(row["ts"]).date()
        title = {"en": f"[{row['severity']}] unusual {spec.value_column} at {spec.id_column} {key} on {day}", "zh": f"【{_SEVERITY_ZH[row['severity']]}】{spec.id_column} {key} 在 {day} 的 {spec.value_column} 异常"}
        body = {
            "en": f"anomaly score {row['anomaly_score']:.4f}\n- {row['reason_1_en']}",
            "zh": f"异常分 {row['anomaly_score']:.4f}\n- {row['reason_1_zh']}",
        }
        messages.append(_message(f"{pipeline}-{row['event_id']}", title, body, lang))
    return messages


def aspect_weighted_surprises(estimator: Any, rows: pd.DataFrame) -> np.ndarray:
    """Each feature's surprise scaled by how surprising its aspect is relative to the top aspect:
    the features of the aspect that decided the score come first."""
    surprises = estimator.deviations(rows)
    if len(rows) == 0:
        return surprises
    aspects = estimator.aspect_surprises(rows)
    top = np.maximum(aspects.max(axis=1, keepdims=True), 1e-9)
    names = list(estimator.feature_names_in_)
    weight = np.ones_like(surprises)
    for a, members in enumerate(estimator.aspects_.values()):
        for feature in members:
            weight[:, names.index(feature)] = aspects[:, a] / top[:, 0]
    return surprises * weight


PLUGIN = RiskScoring()
