"""Reports for business readers: the retention list as an Excel workbook and an HTML page (zh / en).

Names are imported lazily: ``import kpredict.reports`` loads neither pandas nor XlsxWriter.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "write_retention_report": "kpredict.reports.retention",
    "build_retention_list": "kpredict.reports.retention",
    "suggest_actions": "kpredict.reports.actions",
    "training_chart": "kpredict.reports.run",
    "write_report": "kpredict.reports.run",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from kpredict.reports.actions import suggest_actions
    from kpredict.reports.retention import build_retention_list, write_retention_report
    from kpredict.reports.run import training_chart, write_report


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kpredict.reports' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
