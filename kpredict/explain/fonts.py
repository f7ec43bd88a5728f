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

    family = _known_family({entry.name for entry in font_manager.fontManager.ttflist})
    if family is None and _add_installed_cjk_fonts():
        family = _known_family({entry.name for entry in font_manager.fontManager.ttflist})
    return family


def _known_family(available: set[str]) -> str | None:
    for family in _KNOWN_CJK_FAMILIES:
        if family in available:
            return family
    for family in sorted(available):
        if "CJK" in family.upper():
            return family
    return None


_CJK_FILE_HINTS = ("cjk", "wqy", "wenquanyi", "sourcehan", "droidsansfallback", "msyh", "simhei", "pingfang")
_searched = False


def _add_installed_cjk_fonts() -> bool:
    """Add CJK font files installed after matplotlib cached its font list (its cache is not
    refreshed when, say, fonts-noto-cjk is installed later). Searched once per process."""
    global _searched
    if _searched:
        return False
    _searched = True
    from matplotlib import font_manager

    added = False
    for path in sorted(font_manager.findSystemFonts()):
        if any(hint in path.lower().replace("-", "").replace("_", "") for hint in _CJK_FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError) as exc:  # an unreadable font file: try the next one
                logger.debug("matplotlib cannot read the font %s (%s)", path, exc)
                continue
            added = True
    if added:
        logger.info("found CJK fonts installed after matplotlib's font cache was built; added them for this process")
    return added
