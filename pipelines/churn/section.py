"""The retention part of the business report: who may leave, why, and whom to call this round."""

from __future__ import annotations

from typing import Any

from kpredict.reports.i18n import band_label, how_to_read, t
from kpredict.reports.retention import build_retention_list
from kpredict.reports.scored_outputs import ScoredOutput
from kpredict.reports.section import Chart, KeyFigure, Section, SectionTable
from kpredict.reports.words import model_line, words

__all__ = ["SECTION_KEY", "WORDS", "build_section"]

SECTION_KEY = "retention"  # the page anchor and what the next report compares under

WORDS = {
    "title": {"en": "Retention: customers at risk of leaving", "zh": "客户挽留：有流失风险的客户"},
    "sheet": {"en": "Retention", "zh": "客户挽留"},
    "lede": {
        "en": "{high:,} customers are at high risk and {medium:,} at medium risk of leaving within {horizon}. "
              "Call the {contact:,} marked 'contact now' first; each comes with the reasons behind the risk.",
        "zh": "{high:,}位客户流失风险高，{medium:,}位风险中等（{horizon}内）。请先联系标记为“本期联系”的{contact:,}位客户；每位客户都附有风险原因。",
    },
    "scored": {"en": "customers scored", "zh": "评分客户数"},
    "high": {"en": "at high risk", "zh": "高风险客户"},
    "medium": {"en": "at medium risk", "zh": "中风险客户"},
    "contact": {"en": "to contact now", "zh": "本期联系客户"},
    "list": {"en": "Customers at risk, riskiest first", "zh": "风险客户名单（风险从高到低）"},
}


def build_section(output: ScoredOutput, config: Any, lang: str) -> Section:
    """The retention list of the scored customers in ``lang``, with the training run's drivers chart."""
    from kpredict.reports.run import training_chart

    capacity = config.decision.capacity if config.decision.policy == "capacity" else None
    horizon = config.label.horizon_days
    stamp = output.as_of.date().isoformat()
    listing = build_retention_list(output.table, lang=lang, as_of=stamp, horizon_days=horizon, capacity=capacity)
    contacted = listing.contacted if listing.contacted is not None else listing.listed
    w = words(WORDS, lang)
    rows = listing.rows.copy()
    rows["band"] = rows["band"].map(lambda band: band_label(band, lang))
    if "contact" in rows:
        rows["contact"] = rows["contact"].map(lambda flag: t("yes", lang) if flag else "")
    rows.columns = [t(f"col_{column}", lang) for column in listing.columns]
    charts = []
    drivers = training_chart(output.run_id, f"explain/shap_importance_{lang}.png") if output.run_id else None
    if drivers:
        charts.append(Chart(t("drivers", lang), drivers))
    return Section(
        key=SECTION_KEY, title=w["title"], sheet=w["sheet"],
        lede=w["lede"].format(high=listing.counts["high"], medium=listing.counts["medium"], contact=contacted,
                              horizon=t("horizon_days", lang, days=horizon)),
        model=model_line(output, lang), model_version=output.model_version,
        figures=[
            KeyFigure("customers_scored", w["scored"], listing.scored),
            KeyFigure("customers_high_risk", w["high"], listing.counts["high"], higher_is="worse"),
            KeyFigure("customers_medium_risk", w["medium"], listing.counts["medium"], higher_is="worse"),
            KeyFigure("customers_to_contact", w["contact"], contacted),
        ],
        charts=charts,
        tables=[SectionTable(w["list"], rows, formats={t("col_probability", lang): "percent"}, band=t("col_band", lang),
                             band_values={band_label(b, lang): b for b in ("high", "medium", "low")})],
        how_to_read=how_to_read(lang, horizon, capacity),
        ids={"customers_listed": sorted(listing.rows["customer_id"].astype(str))},
    )
