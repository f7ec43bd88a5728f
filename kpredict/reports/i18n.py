"""Every label a business reader sees, in English and Chinese.

One dict, so a translation is reviewed in one place and a missing one is a KeyError in the tests,
not an English word in a Chinese report.
"""

from __future__ import annotations

from typing import Literal

from kpredict.errors import ConfigError

__all__ = ["BANDS", "LANGS", "Lang", "band_label", "check_lang", "how_to_read", "t"]

Lang = Literal["en", "zh"]
LANGS: tuple[str, ...] = ("en", "zh")
BANDS: tuple[str, ...] = ("high", "medium", "low")

LABELS: dict[str, dict[str, str]] = {
    # columns of the list
    "col_rank": {"en": "Rank", "zh": "排名"},
    "col_customer_id": {"en": "Customer ID", "zh": "客户编号"},
    "col_probability": {"en": "Churn probability", "zh": "流失概率"},
    "col_band": {"en": "Risk band", "zh": "风险等级"},
    "col_contact": {"en": "Contact now", "zh": "本期联系"},
    "yes": {"en": "yes", "zh": "是"},
    "to_contact": {"en": "To contact now", "zh": "本期联系客户数"},
    "capacity": {"en": "contact capacity {capacity:,}", "zh": "联系能力{capacity:,}"},
    "horizon": {"en": "Leaving within", "zh": "预测期"},
    "horizon_days": {"en": "the next {days} days", "zh": "未来{days}天"},
    "col_reason_1": {"en": "Reason 1", "zh": "原因一"},
    "col_reason_2": {"en": "Reason 2", "zh": "原因二"},
    "col_reason_3": {"en": "Reason 3", "zh": "原因三"},
    "col_action": {"en": "Suggested action", "zh": "建议行动"},
    # risk bands
    "band_high": {"en": "High risk", "zh": "高风险"},
    "band_medium": {"en": "Medium risk", "zh": "中风险"},
    "band_low": {"en": "Low risk", "zh": "低风险"},
    # titles and header
    "colon": {"en": ": ", "zh": "："},
    "title": {"en": "Customers at risk of leaving", "zh": "流失风险客户名单"},
    "sheet_list": {"en": "Retention list", "zh": "挽留名单"},
    "sheet_about": {"en": "About", "zh": "说明"},
    "as_of": {"en": "As of", "zh": "数据日期"},
    "model": {"en": "Model", "zh": "模型"},
    "model_version": {"en": "Model version", "zh": "模型版本"},
    "run_id": {"en": "Run ID", "zh": "运行编号"},
    "scored": {"en": "Customers scored", "zh": "评分客户数"},
    "listed": {"en": "Customers in this list", "zh": "本名单客户数"},
    "drivers": {"en": "What drives churn risk overall", "zh": "整体流失风险的主要驱动因素"},
    "drivers_alt": {"en": "Chart of the main churn drivers", "zh": "主要流失驱动因素图"},
    "no_customers": {
        "en": "No customers at risk on {as_of}.",
        "zh": "{as_of} 没有存在流失风险的客户。",
    },
    "how_to_read_heading": {"en": "How to read this list", "zh": "如何阅读本名单"},
    "how_to_read": {
        "en": (
            "Each row is a customer the model expects may leave soon, riskiest first (rank 1). "
            "The churn probability is the model's estimate that the customer leaves within {horizon}. "
            "High risk customers should be contacted first; 'Contact now' marks the customers the team "
            "can reach this round ({capacity}). The reasons are the customer's own facts "
            "that raise the risk most; the suggested action is a starting point, not a rule."
        ),
        "zh": (
            "每一行是模型认为近期可能流失的一位客户，按风险从高到低排列（排名1风险最高）。"
            "流失概率是模型估计该客户在{horizon}内流失的可能性。请优先联系高风险客户；"
            "“本期联系”标出本轮团队能够联系的客户（{capacity}）。"
            "原因列出的是最能推高该客户风险的自身情况；建议行动仅供参考，并非硬性规定。"
        ),
    },
}


def check_lang(lang: str) -> str:
    """``lang`` if it is one we write reports in, else a ConfigError."""
    if lang not in LANGS:
        raise ConfigError(f"lang must be one of {list(LANGS)}; got {lang!r}")
    return lang


def t(key: str, lang: str, **values: object) -> str:
    """The label ``key`` in ``lang``, with ``{placeholders}`` filled from ``values``."""
    text = LABELS[key][lang]
    return text.format(**values) if values else text


def how_to_read(lang: str, horizon_days: int | None, capacity: int | None) -> str:
    """The how-to-read paragraph with the horizon in days and the contact capacity where known."""
    horizon = t("horizon_days", lang, days=horizon_days) if horizon_days else {"en": "the prediction horizon", "zh": "预测期"}[lang]
    reach = t("capacity", lang, capacity=capacity) if capacity else {"en": "as many as the team can handle", "zh": "以团队处理能力为限"}[lang]
    return t("how_to_read", lang, horizon=horizon, capacity=reach)


def band_label(band: str, lang: str) -> str:
    """``"high"`` → ``"High risk"`` / ``"高风险"``."""
    return LABELS[f"band_{band}"][lang]
