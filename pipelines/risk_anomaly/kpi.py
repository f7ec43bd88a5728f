"""The KPI half of the risk pipeline: series from the feature store, the causal detector learnt on
the older days and evaluated on the latest ones, and scored steps with reasons in zh / en.

Because the detector is causal (a step's score uses only the steps up to it), evaluating it on a
whole year of steps it never learnt from is honest: each score is what a daily job would have
written that day.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kpredict.pipelines.risk_anomaly.config import KpiConfig, RiskAnomalyConfig

from kpredict.errors import DataNotFoundError, SchemaError
from kpredict.features.sources import read_source
from kpredict.modeling.kpi import KpiDetector
from kpredict.scoring.plugin import descending_rank

__all__ = ["KPI_TABLE", "fit_and_evaluate", "kpi_reasons", "kpi_threshold", "load_kpi", "plot_kpi", "score_kpi"]

logger = logging.getLogger(__name__)

#: name of the companion table of scored KPI steps (its alerts go to ``kpi_alerts``)
KPI_TABLE = "kpi"
_KIND_ZH = {"spike": "单日突变", "level_shift": "水平突变", "recovery": "恢复"}


def load_kpi(config: RiskAnomalyConfig, store: Any, *, end: pd.Timestamp | None = None) -> tuple[pd.DataFrame, pd.Series | None]:
    """``unique_id, ds, y`` of every series before ``end``, and the calendar days (or None)."""
    spec: KpiConfig = config.kpi
    columns = [spec.id_column, spec.time_column, spec.value_column]
    raw = read_source(store.repo, spec.source, store.data_dir)
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise SchemaError(f"KPI source {spec.source!r} lacks column(s) {missing} (kpi.id_column / time_column / value_column); it has {list(raw.columns)}")
    frame = pd.DataFrame({"unique_id": raw[spec.id_column].astype(str), "ds": pd.to_datetime(raw[spec.time_column]), "y": pd.to_numeric(raw[spec.value_column], errors="coerce")})
    if end is not None:
        frame = frame[frame["ds"] < end]
    calendar = None
    if spec.calendar_source is not None:
        days = read_source(store.repo, spec.calendar_source, store.data_dir)
        if spec.calendar_column not in days.columns:
            raise SchemaError(f"calendar source {spec.calendar_source!r} lacks column {spec.calendar_column!r} (kpi.calendar_column); it has {list(days.columns)}")
        calendar = pd.to_datetime(days[spec.calendar_column])
    return frame.reset_index(drop=True), calendar


_STEP_SETTINGS = ("season_length", "fallback_season_length", "refit_every", "min_history", "history")


def series_step(frame: pd.DataFrame) -> pd.Timedelta:
    """The usual time between a series' steps (the median over every series; a day when no series
    has two steps)."""
    gaps = frame.sort_values(["unique_id", "ds"], kind="stable").groupby("unique_id", sort=False)["ds"].diff().dropna()
    return gaps.median() if len(gaps) else pd.Timedelta("1D")


def build_detector(spec: KpiConfig, step: pd.Timedelta | str = "1D") -> KpiDetector:
    """The detector for series sampled every ``step`` (KpiDetector.for_frequency), with the
    config's settings; the season, refit and history settings the config leaves null follow the step."""
    explicit = {name: getattr(spec, name) for name in _STEP_SETTINGS if getattr(spec, name) is not None}
    return KpiDetector.for_frequency(
        step, max_run=spec.max_run, spike_threshold=spec.spike_threshold, shift_threshold=spec.shift_threshold,
        min_peers=spec.min_peers, log_transform=spec.log_transform, **explicit,
    )


def kpi_threshold(spec: KpiConfig) -> float:
    """The 0..1 score above which a step alerts: the alert budget per 1,000 series-steps."""
    return 1.0 - spec.alerts_per_1000 / 1000.0


def _labels(config: RiskAnomalyConfig) -> pd.DataFrame | None:
    spec = config.kpi
    if spec.labels is None:
        return None
    path = Path(config.data_dir) / spec.labels.path
    if not path.is_file():
        raise DataNotFoundError(f"KPI labels file {path} does not exist; set kpi.labels: null when there are none")
    labels = pd.read_parquet(path)
    columns = [spec.id_column, spec.time_column, spec.labels.kind_column]
    missing = [c for c in columns if c not in labels.columns]
    if missing:
        raise SchemaError(f"KPI labels file {path.name} lacks column(s) {missing}; it has {list(labels.columns)}")
    return pd.DataFrame(
        {"unique_id": labels[spec.id_column].astype(str), "ds": pd.to_datetime(labels[spec.time_column]), "true_kind": labels[spec.labels.kind_column].fillna("").astype(str)}
    )


def fit_and_evaluate(config: RiskAnomalyConfig, store: Any) -> tuple[KpiDetector, dict[str, float], pd.DataFrame]:
    """Learn the detector on all but the latest ``evaluation_days`` and score every step causally.

    Returns the detector, ``kpi_``-prefixed metrics (event recall at a budget of the known events
    and at the alert threshold, per kind, where labels exist) and the evaluated steps.
    """
    from kpredict.evaluation.detection import event_detection_metrics

    spec = config.kpi
    frame, calendar = load_kpi(config, store)
    if frame.empty:
        raise DataNotFoundError(f"KPI source {spec.source!r} has no rows")
    first, last = frame["ds"].min(), frame["ds"].max()
    span_days = (last - first).days + 1
    evaluation_days = min(spec.evaluation_days, span_days // 2)
    evaluation_start = last.normalize() + pd.Timedelta(days=1) - pd.Timedelta(days=evaluation_days)
    step = series_step(frame)
    detector = build_detector(spec, step).fit(frame[frame["ds"] < evaluation_start], calendar_dates=calendar)
    logger.info("KPI series every %s: season %d steps, refit every %d", step, detector.season_length, detector.refit_every)
    detected = detector.detect(frame, calendar_dates=calendar)
    threshold = kpi_threshold(spec)
    evaluated = detected[(detected["ds"] >= evaluation_start) & detected["anomaly_score"].notna()].copy()
    evaluated["is_alert"] = evaluated["anomaly_score"].to_numpy() >= threshold
    metrics = {
        "kpi_alert_threshold": threshold,
        "kpi_evaluated_steps": float(len(evaluated)),
        "kpi_alerts_per_1000": float(evaluated["is_alert"].mean() * 1000) if len(evaluated) else float("nan"),
    }
    labels = _labels(config)
    if labels is not None:
        evaluated = evaluated.merge(labels, on=["unique_id", "ds"], how="left", validate="one_to_one")
        evaluated["true_kind"] = evaluated["true_kind"].fillna("")
        metrics |= event_detection_metrics(
            evaluated, id_col="unique_id", score_col="surprise", kind_col="true_kind", within=spec.detect_within, alert_col="is_alert", prefix="kpi_"
        )
    logger.info("KPI detector: %d series, learnt before %s, evaluated on %d steps", frame["unique_id"].nunique(), evaluation_start.date(), len(evaluated))
    return detector, metrics, evaluated


def kpi_reasons(rows: pd.DataFrame, spec: KpiConfig) -> pd.DataFrame:
    """One sentence per step in en and zh: the value against what was expected, and the kind."""
    en, zh = [], []
    name_en, name_zh = spec.label_en or spec.value_column, spec.label_zh or spec.value_column
    for row in rows.itertuples(index=False):
        change = row.y / row.expected - 1.0 if row.expected and np.isfinite(row.expected) else float("nan")
        base_en = f"{name_en} {row.y:,.0f} against {row.expected:,.0f} expected ({change:+.0%})"
        base_zh = f"{name_zh} {row.y:,.0f}，预期 {row.expected:,.0f}（{change:+.0%}）"
        kind = str(row.kind)
        if kind == "level_shift" and pd.notna(row.shift_onset):
            onset = pd.Timestamp(row.shift_onset).date()
            base_en += f"; the level has moved since {onset}"
            base_zh += f"；自 {onset} 起水平发生变化"
        elif kind == "spike":
            base_en += "; a one-step jump"
            base_zh += f"；{_KIND_ZH['spike']}"
        if bool(row.is_calendar_day):
            base_en += " (a calendar day)"
            base_zh += "（节假日）"
        en.append(base_en)
        zh.append(base_zh)
    return pd.DataFrame({"reason_1_en": en, "reason_1_zh": zh}, index=rows.index)


def score_kpi(config: RiskAnomalyConfig, store: Any, detector: KpiDetector, *, as_of: pd.Timestamp, start: pd.Timestamp, severity: dict[str, float]) -> pd.DataFrame:
    """Every KPI step in ``[start, as_of)``, scored causally from each series' whole history."""
    spec = config.kpi
    frame, calendar = load_kpi(config, store, end=as_of)
    if frame.empty:
        return pd.DataFrame()
    detected = detector.detect(frame, calendar_dates=calendar)
    rows = detected[(detected["ds"] >= start) & detected["anomaly_score"].notna()].copy()
    score = rows["anomaly_score"].to_numpy()
    rows["severity"] = np.select([score >= severity["critical"], score >= severity["high"], score >= severity["medium"]], ["critical", "high", "medium"], "low")
    rows["is_alert"] = score >= kpi_threshold(spec)
    rows["kind"] = rows["kind"].astype(str)
    rows = pd.concat([rows, kpi_reasons(rows, spec)], axis=1)
    out = pd.DataFrame(
        {
            spec.id_column: rows["unique_id"].to_numpy(),
            "event_id": [f"{spec.source}:{key}:{ts.isoformat()}" for key, ts in zip(rows["unique_id"], rows["ds"], strict=True)],
            "ts": rows["ds"].to_numpy(),
            spec.value_column: rows["y"].to_numpy(),
            "expected": rows["expected"].to_numpy(),
            "anomaly_score": score,
            "severity": rows["severity"].to_numpy(),
            "is_alert": rows["is_alert"].to_numpy(),
            "kind": rows["kind"].to_numpy(),
            "shift_onset": rows["shift_onset"].to_numpy(),
            "reason_1_en": rows["reason_1_en"].to_numpy(),
            "reason_1_zh": rows["reason_1_zh"].to_numpy(),
        }
    )
    out["rank"] = descending_rank(rows["surprise"].to_numpy(), out["event_id"].to_numpy())  # the 0..1 score saturates
    return out.sort_values("rank", kind="mergesort").reset_index(drop=True)


def plot_kpi(evaluated: pd.DataFrame, spec: KpiConfig, *, panels: int = 4):
    """The series with the most alerts: value, expected value, alerts and known anomalies (PNG in MLflow)."""
    from matplotlib.figure import Figure

    counts = evaluated.groupby("unique_id")["is_alert"].sum().sort_values(ascending=False, kind="mergesort")
    chosen = list(counts.index[:panels])
    fig = Figure(figsize=(11, 2.4 * max(len(chosen), 1)))
    axes = fig.subplots(max(len(chosen), 1), 1, squeeze=False)[:, 0]
    for ax, key in zip(axes, chosen, strict=False):
        part = evaluated[evaluated["unique_id"] == key]
        ax.plot(part["ds"], part["y"], lw=0.8, label=spec.value_column)
        ax.plot(part["ds"], part["expected"], lw=0.8, alpha=0.7, label="expected")
        alert = part["is_alert"].to_numpy()
        ax.scatter(part["ds"][alert], part["y"][alert], color="red", s=18, zorder=3, label="alert")
        if "true_kind" in part:
            known = (part["true_kind"] != "").to_numpy()
            ax.scatter(part["ds"][known], part["y"][known], facecolors="none", edgecolors="black", s=30, zorder=4, label="known anomaly")
        ax.set_title(f"{spec.id_column} {key}", fontsize=9)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
