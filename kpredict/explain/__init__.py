"""SHAP contributions → per-row top reasons in business words (zh / en), global importance, charts.

Names are imported lazily: ``import kpredict.explain`` loads neither pandas nor matplotlib nor shap.

* :func:`top_reasons` — each row's features that raise its score most, as sentences.
* :func:`global_importance` — mean absolute contribution per feature.
* :func:`plot_importance_bar`, :func:`plot_beeswarm` — matplotlib figures; :func:`figure_to_png`.
* :func:`log_global_explanations` — the importance table and charts a training run logs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpredict._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "top_reasons": "kpredict.explain.reasons",
    "reason_columns": "kpredict.explain.reasons",
    "global_importance": "kpredict.explain.importance",
    "plot_importance_bar": "kpredict.explain.plots",
    "plot_beeswarm": "kpredict.explain.plots",
    "figure_to_png": "kpredict.explain.plots",
    "format_cell": "kpredict.explain.formatting",
    "cjk_font_family": "kpredict.explain.fonts",
    "log_global_explanations": "kpredict.explain.summary",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from kpredict.explain.fonts import cjk_font_family
    from kpredict.explain.formatting import format_cell
    from kpredict.explain.importance import global_importance
    from kpredict.explain.plots import figure_to_png, plot_beeswarm, plot_importance_bar
    from kpredict.explain.reasons import reason_columns, top_reasons
    from kpredict.explain.summary import log_global_explanations


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
