"""The replenishment part of the business report: what to order, and the forecasts behind it."""

from __future__ import annotations

from typing import Any

import pandas as pd

from kpredict.forecasting.series import ID, TARGET, TIME
from kpredict.reports.scored_outputs import ScoredOutput
from kpredict.reports.section import Chart, KeyFigure, Section, SectionTable
from kpredict.reports.words import chart_font, model_line, words

__all__ = ["CHART_SERIES", "SECTION_KEY", "WORDS", "build_section"]

CHART_SERIES = 4  # forecast charts for the items selling most over the horizon
CONTEXT_DAYS = 56

SECTION_KEY = "replenishment"  # the page anchor and what the next report compares under

WORDS = {
    "title": {"en": "Replenishment: what to order", "zh": "补货：需要订购什么"},
    "sheet": {"en": "Replenishment", "zh": "补货"},
    "lede": {
        "en": "Over the next {horizon} days the {series:,} store × product lines are expected to sell {units:,.0f} units. "
              "{lines:,} lines need an order now, {order:,.0f} units in all, to cover the {lead} days until delivery "
              "with a {service:.0%} chance of not running out.",
        "zh": "未来{horizon}天，{series:,}个门店×商品预计共售出{units:,.0f}件。现在有{lines:,}个门店×商品需要下单，共{order:,.0f}件，"
              "以{service:.0%}的把握在{lead}天到货前不断货。",
    },
    "units": {"en": "units expected to sell", "zh": "预计销量（件）"},
    "series": {"en": "store × product lines", "zh": "门店×商品数"},
    "lines": {"en": "lines to order now", "zh": "需下单的门店×商品"},
    "order": {"en": "units to order", "zh": "订购数量（件）"},
    "unknown": {"en": "lines with unknown stock", "zh": "库存未知的门店×商品"},
    "orders": {"en": "Orders to place now, largest first", "zh": "本期订单（数量从大到小）"},
    "store": {"en": "Store", "zh": "门店"},
    "product": {"en": "Product", "zh": "商品"},
    "on_hand": {"en": "In stock", "zh": "现有库存"},
    "lead_demand": {"en": "Expected sales until delivery", "zh": "到货前预计销量"},
    "safety": {"en": "Safety stock", "zh": "安全库存"},
    "to_order": {"en": "Order", "zh": "订购数量"},
    "chart": {
        "en": "The {n} lines expected to sell most: recent daily sales (grey) and the forecast (blue) with its 80% and 95% ranges",
        "zh": "预计销量最大的{n}个门店×商品：近期每日销量（灰色）与预测（蓝色），以及80%和95%区间",
    },
    "how": {
        "en": "The order quantity covers the sales expected until the delivery arrives plus a safety stock for days that sell "
              "more than expected, minus what is in stock. The shaded ranges show how sure the forecast is: the actual sales "
              "should fall in the darker range 8 days in 10.",
        "zh": "订购数量 = 到货前的预计销量 + 应对销量高于预期的安全库存 − 现有库存。阴影区间表示预测的把握程度：实际销量约有八成落在较深的区间内。",
    },
    "history": {"en": "sales", "zh": "销量"},
    "forecast": {"en": "forecast", "zh": "预测"},
}


def build_section(output: ScoredOutput, config: Any, lang: str) -> Section:
    """Orders from the replenishment table, forecast charts of the biggest lines, in ``lang``."""
    w = words(WORDS, lang)
    forecast = output.table
    orders = output.companions.get("replenishment", pd.DataFrame(columns=["unique_id", "order_quantity"]))
    keys = list(config.series.keys)
    units = float(forecast["yhat"].sum()) if len(forecast) else 0.0
    to_order = orders[orders["order_quantity"] > 0].sort_values(["order_quantity", ID], ascending=[False, True])
    lead = int(orders["lead_time"].iloc[0]) if len(orders) else config.replenishment.lead_time
    service = float(orders["service_level"].iloc[0]) if len(orders) else config.replenishment.service_level
    horizon = int(forecast.groupby(ID)[TIME].nunique().max()) if len(forecast) else 0

    shown = pd.DataFrame({
        **({w["store"]: to_order[keys[0]].astype(str)} if keys else {}),
        **({w["product"]: to_order[keys[1]].astype(str)} if len(keys) > 1 else {ID: to_order[ID]}),
        w["on_hand"]: to_order["on_hand"],
        w["lead_demand"]: to_order["lead_time_demand"],
        w["safety"]: to_order["safety_stock"],
        w["to_order"]: to_order["order_quantity"],
    }).reset_index(drop=True)
    figures = [
        KeyFigure("units_forecast", w["units"], units, "number"),
        KeyFigure("series", w["series"], forecast[ID].nunique() if len(forecast) else 0),
        KeyFigure("lines_to_order", w["lines"], len(to_order)),
        KeyFigure("units_to_order", w["order"], float(to_order["order_quantity"].sum()), "number"),
    ]
    if "on_hand_known" in orders and (~orders["on_hand_known"].astype(bool)).any():
        figures.append(KeyFigure("lines_stock_unknown", w["unknown"], int((~orders["on_hand_known"].astype(bool)).sum()), higher_is="worse"))
    charts = []
    if len(forecast):
        top = forecast.groupby(ID)["yhat"].sum().sort_values(ascending=False, kind="stable").head(CHART_SERIES).index.tolist()
        charts.append(Chart(w["chart"].format(n=len(top)), _forecast_png(output, config, top, lang)))
    return Section(
        key=SECTION_KEY, title=w["title"], sheet=w["sheet"],
        lede=w["lede"].format(horizon=horizon, series=figures[1].value, units=units, lines=len(to_order),
                              order=figures[3].value, lead=lead, service=service),
        model=model_line(output, lang), model_version=output.model_version, figures=figures, charts=charts,
        tables=[SectionTable(w["orders"], shown, formats={c: "count" for c in shown.columns[-4:]})],
        how_to_read=w["how"], ids={"lines_to_order": sorted(to_order[ID].astype(str))},
    )


def _forecast_png(output: ScoredOutput, config: Any, ids: list[str], lang: str) -> bytes:
    from matplotlib.figure import Figure

    from kpredict.explain.plots import figure_to_png
    from kpredict.pipelines.sales_forecast.data import load_history

    history, _ = load_history(config, config.open_store(), before=output.as_of)
    history = history[history[ID].isin(ids)]
    shown_lang, font = chart_font(lang)
    w = words(WORDS, shown_lang)
    fig = Figure(figsize=(10, 2.1 * len(ids)))
    axes = fig.subplots(len(ids), 1, squeeze=False)[:, 0]
    forecast = output.table
    for ax, uid in zip(axes, ids):
        past = history[history[ID] == uid].sort_values(TIME).tail(CONTEXT_DAYS)
        future = forecast[forecast[ID] == uid].sort_values(TIME)
        ax.plot(past[TIME], past[TARGET], color="0.45", lw=1, label=w["history"])
        for level, alpha in ((95, 0.15), (80, 0.3)):
            if f"yhat_lo_{level}" in future:
                ax.fill_between(future[TIME], future[f"yhat_lo_{level}"], future[f"yhat_hi_{level}"], color="tab:blue", alpha=alpha, lw=0, label=f"{level}%")
        ax.plot(future[TIME], future["yhat"], color="tab:blue", lw=1.6, label=w["forecast"])
        ax.set_title(uid.replace("/", " · "), fontsize=9, **font)
        ax.tick_params(labelsize=7)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncols=len(labels), fontsize=8, frameon=False,
               prop={"family": font["fontfamily"], "size": 8} if font else None)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))
    return figure_to_png(fig)
