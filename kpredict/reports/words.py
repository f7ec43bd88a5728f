"""Small helpers every report section uses for its words, its model line and its chart font."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from kpredict.reports.i18n import check_lang

if TYPE_CHECKING:  # pragma: no cover
    from kpredict.reports.scored_outputs import ScoredOutput

__all__ = ["chart_font", "model_line", "words"]

logger = logging.getLogger(__name__)

_MODEL_LINE = {
    "en": "model version {version}, scored as of {as_of}{source}",
    "zh": "模型版本 {version}，评分日期 {as_of}{source}",
}
_SOURCE = {"en": " (from {name})", "zh": "（来自 {name}）"}
_SCORED_NOW = {"en": " (scored for this report)", "zh": "（为本报告即时评分）"}


def words(table: dict[str, dict[str, str]], lang: str) -> dict[str, str]:
    """``{key: text in lang}`` of a section's word table (a missing translation is a KeyError)."""
    check_lang(lang)
    return {key: texts[lang] for key, texts in table.items()}


def model_line(output: ScoredOutput, lang: str) -> str:
    """Which model version scored, as of when, and which file the numbers come from."""
    source = _SOURCE[lang].format(name=output.source.name) if output.source is not None else _SCORED_NOW[lang]
    return _MODEL_LINE[lang].format(version=output.model_version, as_of=output.as_of.date().isoformat(), source=source)


@functools.cache
def _cjk_family() -> str | None:
    from kpredict.explain.fonts import cjk_font_family

    family = cjk_font_family()
    if family is None:
        logger.warning("no CJK font is available to matplotlib; zh report charts are labelled in English (install fonts-noto-cjk)")
    return family


def chart_font(lang: str) -> tuple[str, dict]:
    """The language a chart can be labelled in here and the matplotlib font keywords for it:
    ``("zh", {...})`` where a CJK font exists, else ``("en", {})`` so no label turns into boxes."""
    if lang == "zh":
        family = _cjk_family()
        if family is not None:
            return "zh", {"fontfamily": [family, "DejaVu Sans"]}
    return "en", {}
