"""Reports for business readers (zh / en): the business report of all four decisions (HTML + Excel)
and the retention list as an Excel workbook and an HTML page.

Names are imported lazily: ``import kpredict.reports`` loads neither pandas nor XlsxWriter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kpredict._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "write_retention_report": "kpredict.reports.retention",
    "build_retention_list": "kpredict.reports.retention",
    "suggest_actions": "kpredict.reports.actions",
    "training_chart": "kpredict.reports.run",
    "write_report": "kpredict.reports.run",
    "build_business_report": "kpredict.reports.business",
    "write_business_report": "kpredict.reports.business",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from kpredict.reports.actions import suggest_actions
    from kpredict.reports.business import build_business_report, write_business_report
    from kpredict.reports.retention import build_retention_list, write_retention_report
    from kpredict.reports.run import training_chart, write_report


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
