"""Find a font that can draw Chinese, so zh chart labels do not come out as empty boxes.

matplotlib's default DejaVu Sans has no CJK glyphs. We look for a known CJK family among the fonts
matplotlib knows (system fonts it scanned, plus any added with ``font_manager.fontManager.addfont``);
when there is none, callers fall back to English / feature names and say so in the log.
"""

from __future__ import annotations

import logging

__all__ = ["cjk_font_family", "has_cjk"]

logger = logging.getLogger(__name__)

# Most common first; any family whose name says CJK also counts.
_KNOWN_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "STHeiti",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
    "AR PL UKai CN",
    "Droid Sans Fallback",
    "Arial Unicode MS",
)


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds CJK characters (ideographs or CJK punctuation / full-width forms)."""
    return any("\u3000" <= char <= "\u9fff" or "\uff00" <= char <= "\uffef" for char in text)


def cjk_font_family() -> str | None:
    """A font family matplotlib can use for Chinese text, or None when this machine has none.

    Not cached: fonts added at run time (``fontManager.addfont``) are found on the next call.
    """
    from matplotlib import font_manager

    available = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in _KNOWN_CJK_FAMILIES:
        if family in available:
            return family
    for family in sorted(available):
        if "CJK" in family.upper():
            return family
    return None
