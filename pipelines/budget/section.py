"""The budget part of the business report: how to split the next weeks' spend, and what it should bring."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kpredict.reports.scored_outputs import ScoredOutput
from kpredict.reports.section import Chart, KeyFigure, Section, SectionTable
from kpredict.reports.words import model_line, words

__all__ = ["SECTION_KEY", "WORDS", "build_section"]

SECTION_KEY = "budget"  # the page anchor and what the next report compares under

WORDS = {
    "title": {"en": "Budget plan: where to spend", "zh": "预算计划：钱花在哪里"},
    "sheet": {"en": "Budget plan", "zh": "预算计划"},
    "lede": {
        "en": "Moving the same {budget:,.0f} over the next {weeks} weeks to the recommended split is expected to add "
              "{uplift:,.0f} to the KPI (between {lo:,.0f} and {hi:,.0f}; {better:.0%} likely to do better than the current split).",
        "zh": "在未来{weeks}周保持预算{budget:,.0f}不变、改用推荐的分配，预计可使KPI增加{uplift:,.0f}"
              "（区间{lo:,.0f}至{hi:,.0f}；优于当前分配的可能性为{better:.0%}）。",
    },
    "budget": {"en": "budget", "zh": "预算"},
    "kpi_now": {"en": "KPI expected with the current split", "zh": "当前分配的预期KPI"},
    "kpi_plan": {"en": "KPI expected with the recommended split", "zh": "推荐分配的预期KPI"},
    "uplift": {"en": "expected uplift", "zh": "预期提升"},
    "better": {"en": "chance the plan does better", "zh": "推荐方案更优的可能性"},
    "split": {"en": "Current and recommended spend per channel", "zh": "各渠道当前与推荐投放"},
    "channel": {"en": "Channel", "zh": "渠道"},
    "current": {"en": "Current spend", "zh": "当前投放"},
    "recommended": {"en": "Recommended spend", "zh": "推荐投放"},
    "change": {"en": "Change", "zh": "变化"},
    "kpi": {"en": "Expected KPI from it", "zh": "带来的预期KPI"},
    "ch_uplift": {"en": "Uplift", "zh": "提升"},
    "range": {"en": "Uplift range", "zh": "提升区间"},
    "roi": {"en": "Return of the next unit", "zh": "边际回报"},
    "curves": {"en": "What each channel returns as its weekly spend grows", "zh": "各渠道每周投放增加时的回报"},
    "how": {
        "en": "The current split is the average week of the last weeks, scaled to the same budget, so the uplift is what "
              "moving money between channels alone gains. Ranges come from refitting the model on resampled weeks: "
              "a range that includes zero means the gain is not certain. 'Return of the next unit' is what one more unit "
              "of spend in that channel is expected to bring at the recommended level.",
        "zh": "当前分配取最近几周的平均周投放，并按相同预算缩放，因此提升仅来自渠道间的重新分配。区间来自在重抽样的周数据上重复拟合模型："
              "区间包含零表示收益并不确定。“边际回报”是在推荐水平上每多投一单位预计带来的KPI。",
    },
}


def build_section(output: ScoredOutput, config: Any, lang: str) -> Section:
    """The plan per channel and its expected uplift in ``lang``, with the training run's response curves."""
    from kpredict.reports.run import training_chart

    w = words(WORDS, lang)
    plan = output.table
    summary = output.companions.get("summary")
    totals = summary.iloc[0] if summary is not None and len(summary) else pd.Series(dtype=float)
    labels = config.channel_labels_zh if lang == "zh" else {}
    separator = " – "
    table = pd.DataFrame({
        w["channel"]: plan["channel"].map(lambda c: labels.get(c, c)),
        w["current"]: plan["current_spend"],
        w["recommended"]: plan["recommended_spend"],
        w["change"]: plan["change"],
        w["kpi"]: plan["expected_kpi"],
        w["ch_uplift"]: plan["expected_uplift"],
        w["range"]: [f"{lo:,.0f}{separator}{hi:,.0f}" for lo, hi in zip(plan["uplift_lo"], plan["uplift_hi"])],
        w["roi"]: plan["marginal_roi"],
    })
    value = {key: float(totals.get(key, float("nan"))) for key in
             ("budget", "weeks", "expected_kpi", "expected_kpi_current", "expected_uplift", "uplift_lo", "uplift_hi", "probability_better")}
    charts = []
    curves = training_chart(output.run_id, f"plots/response_curves_{lang}.png") if output.run_id else None
    if curves:
        charts.append(Chart(w["curves"], curves))
    return Section(
        key=SECTION_KEY, title=w["title"], sheet=w["sheet"],
        lede=w["lede"].format(budget=value["budget"], weeks=int(value["weeks"]) if value["weeks"] == value["weeks"] else "?",
                              uplift=value["expected_uplift"], lo=value["uplift_lo"], hi=value["uplift_hi"], better=value["probability_better"]),
        model=model_line(output, lang), model_version=output.model_version,
        figures=[
            KeyFigure("budget", w["budget"], value["budget"], "money"),
            KeyFigure("kpi_current_split", w["kpi_now"], value["expected_kpi_current"], "number", higher_is="better"),
            KeyFigure("kpi_recommended_split", w["kpi_plan"], value["expected_kpi"], "number", higher_is="better"),
            KeyFigure("expected_uplift", w["uplift"], value["expected_uplift"], "number", higher_is="better"),
            KeyFigure("probability_better", w["better"], value["probability_better"], "percent", higher_is="better"),
        ],
        charts=charts,
        tables=[SectionTable(w["split"], table, formats={
            w["current"]: "money", w["recommended"]: "money", w["change"]: "money", w["kpi"]: "number", w["ch_uplift"]: "number", w["roi"]: "number",
        })],
        how_to_read=w["how"],
    )
