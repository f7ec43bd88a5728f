"""Suggested retention actions: a rule per (risk band, topic of the top reason).

The topic comes from the top reason's feature name when the scoring output carries it
(``reason_1_feature``), else from the reason's words. Rules are deliberately simple and visible:
a retention team reads them as a starting point.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

__all__ = ["ACTIONS", "TOPICS", "reason_topic", "suggest_actions"]

# Checked in this order: the first topic whose words appear wins.
TOPICS: dict[str, tuple[str, ...]] = {
    "support": ("ticket", "support", "satisfaction", "severity", "complaint", "工单", "客服", "满意度", "投诉"),
    "price": ("plan", "contract", "fee", "price", "discount", "套餐", "合约", "月费", "价格", "售价", "折扣"),
    "ordering": ("order", "spend", "purchase", "订单", "下单", "消费", "客单价", "购买"),
}

ACTIONS: dict[tuple[str, str], dict[str, str]] = {
    ("high", "support"): {"en": "call within 48 hours; escalate the open ticket", "zh": "48小时内电话回访；升级处理未结工单"},
    ("medium", "support"): {"en": "follow up on the recent ticket and check satisfaction", "zh": "跟进近期工单并回访满意度"},
    ("high", "price"): {"en": "call to offer a plan review / discount", "zh": "电话沟通，提供套餐评估或折扣"},
    ("medium", "price"): {"en": "offer a plan review / discount", "zh": "提供套餐评估或折扣"},
    ("high", "ordering"): {"en": "call and send a personalised win-back offer", "zh": "电话回访并发送个性化挽回优惠"},
    ("medium", "ordering"): {"en": "send a personalised win-back offer", "zh": "发送个性化挽回优惠"},
    ("high", "other"): {"en": "call within 48 hours to understand the risk", "zh": "48小时内电话回访，了解流失原因"},
    ("medium", "other"): {"en": "include in the next retention campaign", "zh": "纳入下一轮客户关怀活动"},
    ("low", "other"): {"en": "no action; keep monitoring", "zh": "暂无需行动，持续关注"},
}
for _topic in TOPICS:
    ACTIONS[("low", _topic)] = ACTIONS[("low", "other")]


def reason_topic(text: pd.Series) -> pd.Series:
    """``support`` / ``price`` / ``ordering`` / ``other`` for each text (feature name or sentence)."""
    lowered = text.fillna("").astype(str).str.lower()
    topic = pd.Series("other", index=text.index, dtype=object)
    undecided = np.ones(len(text), dtype=bool)
    for name, words in TOPICS.items():
        pattern = "|".join(re.escape(word) for word in words)
        hit = lowered.str.contains(pattern, regex=True).to_numpy(dtype=bool) & undecided
        topic[hit] = name
        undecided &= ~hit
    return topic


def suggest_actions(scored: pd.DataFrame, lang: str) -> pd.Series:
    """One suggested action per row of ``scored`` (needs ``risk_band``; uses the top reason if present)."""
    parts = [scored[c].fillna("").astype(str) for c in ("reason_1_en", "reason_1_zh") if c in scored.columns]
    basis = pd.Series("", index=scored.index, dtype=object) if not parts else parts[0].str.cat(parts[1:], sep=" ")
    if "reason_1_feature" in scored.columns:
        feature = scored["reason_1_feature"].fillna("").astype(str)
        basis = feature.where(feature != "", basis)
    topics = reason_topic(basis)
    bands = scored["risk_band"].astype(str)
    return pd.Series(
        [ACTIONS.get((band, topic), ACTIONS[("low", "other")])[lang] for band, topic in zip(bands, topics)],
        index=scored.index,
        dtype=object,
    )
