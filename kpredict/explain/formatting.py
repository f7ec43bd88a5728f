"""Feature values in business words: one formatter per transform kind, in English and Chinese.

A reason reads ``<description>: <value>`` (``<描述>：<取值>``), where the value is written the way
the feature was built: a ``change`` as "down 62%" / "下降62%", a ``recency`` as "45 days" / "45天",
a ``window`` count as a whole number, a category as its label, a missing value as "no record" /
"无记录". :func:`format_cell` returns the three texts at once (language-neutral value, en, zh) so a
caller can cache them per (feature, value).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kpredict.features.definitions import Feature

__all__ = ["NO_RECORD", "describe", "format_cell", "format_number", "sentence", "value_kind"]

NO_RECORD = {"en": "no record", "zh": "无记录"}
_NEUTRAL_MISSING = "NA"
_SEPARATOR = {"en": ": ", "zh": "："}
_YES_NO = {"en": ("no", "yes"), "zh": ("否", "是")}
_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
}
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def describe(name: str, features: Mapping[str, Feature], lang: str) -> str:
    """The feature's description in ``lang``; a feature without a definition reads as its name."""
    feature = features.get(name)
    return getattr(feature.description, lang) if feature is not None else name


def value_kind(feature: Feature | None) -> str:
    """How a feature's values are written: ``change``, ``recency_days``, ``recency_hours``, ``count``,
    ``integer``, ``bool``, ``weekday``, ``month``, ``quarter``, ``label`` or ``number``.

    ``auto`` for a feature without a definition (a model-only feature): written by its values' type.
    """
    if feature is None:
        return "auto"
    transform = feature.transform
    kind = transform.kind
    if kind == "change":
        return "change"
    if kind == "recency":
        return f"recency_{transform.unit}"
    if kind == "calendar":
        return {"is_weekend": "bool", "day_of_week": "weekday", "month": "month", "quarter": "quarter"}.get(
            transform.part, "integer"
        )
    if feature.dtype in ("category", "string"):
        return "label"
    if feature.dtype == "bool":
        return "bool"
    if kind == "window" and transform.agg == "count":
        return "count"
    if feature.dtype == "int64":
        return "integer"
    return "number"


def format_number(value: float, *, max_decimals: int = 2) -> str:
    """``1234.5`` → ``"1,235"``, ``12.345`` → ``"12.35"``, ``3.0`` → ``"3"``: thousands separators,
    fewer decimals for bigger numbers (at most ``max_decimals``), no trailing zeros."""
    magnitude = abs(value)
    decimals = 0 if magnitude >= 1000 else min(1, max_decimals) if magnitude >= 100 else max_decimals
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pd.NA and NaT are not equal to themselves
    except (TypeError, ValueError):
        return False


def _as_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def format_cell(value: Any, kind: str, labels: Mapping[str, Any] | None = None) -> tuple[str, str, str]:
    """``(value_text, english, chinese)`` for one value of a feature written as ``kind``.

    ``value_text`` is language-neutral (numbers, signed percentages, labels; ``"NA"`` when missing).
    ``labels`` maps a category's values to their business words (``.en`` / ``.zh``, the feature's
    ``value_labels``); a value without one is written as it is.
    """
    if _is_missing(value):
        if kind == "count":  # a count with nothing behind it: say the count, not just "no record"
            return _NEUTRAL_MISSING, f"0 ({NO_RECORD['en']})", f"0（{NO_RECORD['zh']}）"
        return _NEUTRAL_MISSING, NO_RECORD["en"], NO_RECORD["zh"]
    if kind == "auto":
        kind = _auto_kind(value)
    if kind == "label":
        text = str(value)
        label = (labels or {}).get(text)
        return (text, label.en, label.zh) if label is not None else (text, text, text)
    number = _as_float(value)
    if number is None:  # a label where a number was expected: show it as it is
        text = str(value)
        return text, text, text
    if math.isinf(number):
        text = "∞" if number > 0 else "-∞"
        return text, text, text
    if kind == "change":
        return _format_change(number)
    if kind == "recency_days" and 0 <= number < 1:  # "0.5 days" reads oddly: hours, or less than one
        neutral, hours = format_number(number, max_decimals=2), number * 24
        if hours < 1:
            return neutral, "less than an hour", "不到1小时"
        text = format_number(hours, max_decimals=0)
        return neutral, f"{text} {'hour' if text == '1' else 'hours'}", f"{text}小时"
    if kind == "recency_days" or kind == "recency_hours":
        text = format_number(number, max_decimals=0 if abs(number) >= 10 else 1)
        if kind == "recency_days":
            return text, f"{text} {'day' if text == '1' else 'days'}", f"{text}天"
        return text, f"{text} {'hour' if text == '1' else 'hours'}", f"{text}小时"
    if kind == "bool":
        flag = bool(number)
        return str(flag).lower(), _YES_NO["en"][flag], _YES_NO["zh"][flag]
    if kind in ("count", "integer"):
        text = format_number(round(number), max_decimals=0)
        return text, text, text
    if kind == "weekday" and number.is_integer() and 0 <= number <= 6:
        day = int(number)
        return str(day), _WEEKDAYS["en"][day], _WEEKDAYS["zh"][day]
    if kind == "month" and number.is_integer() and 1 <= number <= 12:
        month = int(number)
        return str(month), _MONTHS_EN[month - 1], f"{month}月"
    if kind == "quarter" and number.is_integer() and 1 <= number <= 4:
        quarter = int(number)
        return str(quarter), f"Q{quarter}", f"第{quarter}季度"
    text = format_number(number)
    return text, text, text


def _auto_kind(value: Any) -> str:
    if isinstance(value, (bool,)) or type(value).__name__ == "bool_":
        return "bool"
    return "number" if _as_float(value) is not None and not isinstance(value, str) else "label"


def _format_change(change: float) -> tuple[str, str, str]:
    percent = format_number(abs(change) * 100, max_decimals=0)
    if percent == "0":
        return "0%", "no change", "无变化"
    if change > 0:
        return f"+{percent}%", f"up {percent}%", f"上升{percent}%"
    return f"-{percent}%", f"down {percent}%", f"下降{percent}%"


def sentence(description: str, text: str, lang: str) -> str:
    """``"<description>: <text>"`` with the separator of ``lang``."""
    return f"{description}{_SEPARATOR[lang]}{text}"
