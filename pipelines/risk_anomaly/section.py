"""The risk part of the business report: which payments and which store days to look into first."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kpredict.reports.scored_outputs import ScoredOutput
from kpredict.reports.section import KeyFigure, Section, SectionTable
from kpredict.reports.words import model_line, words

__all__ = ["SECTION_KEY", "SEVERITIES", "WORDS", "build_section"]

SEVERITIES = ("critical", "high", "medium", "low")

SECTION_KEY = "risk"  # the page anchor and what the next report compares under

WORDS = {
    "title": {"en": "Risk alerts: what to investigate", "zh": "风险预警：需要核查什么"},
    "sheet": {"en": "Risk alerts", "zh": "风险预警"},
    "lede": {
        "en": "{alerts:,} of {scored:,} payments raised an alert ({critical:,} critical), and {kpi:,} store days moved "
              "further from what was expected than usual. Start with the critical ones; each says what was unusual.",
        "zh": "{scored:,}笔支付中有{alerts:,}笔触发预警（其中{critical:,}笔为严重），另有{kpi:,}个门店日的营收明显偏离预期。"
              "请从严重预警开始核查；每条预警都说明了异常之处。",
    },
    "scored": {"en": "payments scored", "zh": "评分支付笔数"},
    "alerts": {"en": "payment alerts", "zh": "支付预警"},
    "critical": {"en": "critical alerts", "zh": "严重预警"},
    "kpi_alerts": {"en": "store days flagged", "zh": "异常门店日"},
    "payments": {"en": "Payment alerts, most unusual first", "zh": "支付预警（异常程度从高到低）"},
    "kpi_table": {"en": "Store revenue days far from expected", "zh": "营收明显偏离预期的门店日"},
    "account": {"en": "Account", "zh": "账户"},
    "time": {"en": "Time", "zh": "时间"},
    "severity": {"en": "Severity", "zh": "严重程度"},
    "score": {"en": "Anomaly score", "zh": "异常分"},
    "why": {"en": "Why it stands out", "zh": "异常原因"},
    "store": {"en": "Store", "zh": "门店"},
    "day": {"en": "Day", "zh": "日期"},
    "revenue": {"en": "Revenue", "zh": "营收"},
    "expected": {"en": "Expected", "zh": "预期"},
    "sev_critical": {"en": "critical", "zh": "严重"},
    "sev_high": {"en": "high", "zh": "高"},
    "sev_medium": {"en": "medium", "zh": "中"},
    "sev_low": {"en": "low", "zh": "低"},
    "how": {
        "en": "The anomaly score says how unusual a payment is for its account (0 ordinary, 1 most unusual); alerts are "
              "the payments above the threshold set so the team gets about as many as it can check each day. The reasons "
              "compare the payment with the account's own history. A store day is flagged when its revenue is far from "
              "what its usual weekly pattern expects.",
        "zh": "异常分表示一笔支付相对该账户自身习惯的异常程度（0为正常，1为最异常）；预警阈值按团队每天能核查的数量设定。"
              "原因将该笔支付与账户自身的历史相比较。门店日的营收明显偏离其常规周模式时会被标记。",
    },
}


def build_section(output: ScoredOutput, config: Any, lang: str) -> Section:
    """Payment alerts and flagged KPI days in ``lang``, most severe first."""
    w = words(WORDS, lang)
    scored = output.table
    alerts = output.companions.get("alerts")
    if alerts is None:
        alerts = scored[scored["is_alert"].astype(bool)] if "is_alert" in scored else scored.iloc[:0]
    alerts = alerts.sort_values("rank", kind="stable") if "rank" in alerts else alerts
    kpi = output.companions.get("kpi", pd.DataFrame(columns=["severity"]))
    kpi_flagged = kpi[kpi["severity"].isin(("critical", "high", "medium"))].sort_values("anomaly_score", ascending=False, kind="stable")
    severity_words = {s: w[f"sev_{s}"] for s in SEVERITIES}
    band_values = {severity_words[s]: s for s in SEVERITIES}

    payments = pd.DataFrame({
        w["account"]: alerts["account_id"].astype(str),
        w["time"]: pd.to_datetime(alerts["ts"]).dt.strftime("%Y-%m-%d %H:%M"),
        w["severity"]: alerts["severity"].map(severity_words),
        w["score"]: alerts["anomaly_score"].astype(float),
        w["why"]: _reasons(alerts, lang),
    }).reset_index(drop=True)
    days = pd.DataFrame({
        w["store"]: kpi_flagged.get("store_id", pd.Series(dtype=str)).astype(str),
        w["day"]: pd.to_datetime(kpi_flagged["ts"]).dt.strftime("%Y-%m-%d") if len(kpi_flagged) else pd.Series(dtype=str),
        w["severity"]: kpi_flagged["severity"].map(severity_words),
        w["revenue"]: kpi_flagged.get("revenue", pd.Series(dtype=float)),
        w["expected"]: kpi_flagged.get("expected", pd.Series(dtype=float)),
        w["why"]: _reasons(kpi_flagged, lang),
    }).reset_index(drop=True)
    critical = int((alerts["severity"] == "critical").sum())
    tables = [SectionTable(w["payments"], payments, formats={w["score"]: "score"}, band=w["severity"], band_values=band_values)]
    if len(days):
        tables.append(SectionTable(w["kpi_table"], days, formats={w["revenue"]: "money", w["expected"]: "money"},
                                   band=w["severity"], band_values=band_values))
    return Section(
        key=SECTION_KEY, title=w["title"], sheet=w["sheet"],
        lede=w["lede"].format(alerts=len(alerts), scored=len(scored), critical=critical, kpi=len(kpi_flagged)),
        model=model_line(output, lang), model_version=output.model_version,
        figures=[
            KeyFigure("payments_scored", w["scored"], len(scored)),
            KeyFigure("payment_alerts", w["alerts"], len(alerts), higher_is="worse"),
            KeyFigure("critical_alerts", w["critical"], critical, higher_is="worse"),
            KeyFigure("kpi_days_flagged", w["kpi_alerts"], len(kpi_flagged), higher_is="worse"),
        ],
        tables=tables, how_to_read=w["how"],
        ids={"accounts_alerted": sorted(set(alerts["account_id"].astype(str)))},
    )


def _reasons(rows: pd.DataFrame, lang: str) -> pd.Series:
    """The row's reasons in ``lang`` joined with '; ' (empty where it has none)."""
    columns = [c for c in (f"reason_{i}_{lang}" for i in (1, 2, 3)) if c in rows]
    if not columns or rows.empty:
        return pd.Series([""] * len(rows), index=rows.index, dtype=object)
    texts = rows[columns].fillna("").astype(str)
    separator = "; " if lang == "en" else "；"
    return texts.apply(lambda row: separator.join(text for text in row if text), axis=1)
