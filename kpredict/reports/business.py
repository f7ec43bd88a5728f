"""The business report: all four decisions in one HTML page and one Excel workbook, zh or en.

``kpredict report --as-of DATE --lang zh`` reads each pipeline's scoring output for the date (what
``run-jobs`` or the demo wrote; a fresh in-memory score when there is none), lets each pipeline's
``section.py`` say what it means in plain words, and writes

- ``report_<date>_<lang>.html``: one self-contained page (inline CSS, charts as data URIs);
- ``report_<date>_<lang>.xlsx``: a "what changed" sheet and a sheet per decision;
- ``report_<date>.facts.json``: the key figures, model versions and listed ids, language-free:
  what the next report compares against to say what changed.

A pipeline that cannot report (no model trained yet, no data) gets a short "not available" part
naming the cause; the rest of the report is still written. Files are replaced atomically.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kpredict.errors import DataNotFoundError, ModelNotFoundError, SchemaError
from kpredict.io import atomic_path
from kpredict.reports.i18n import check_lang
from kpredict.reports.section import Section
from kpredict.reports.words import words

__all__ = ["BusinessReport", "Change", "build_business_report", "change_text", "format_value", "write_business_report"]

logger = logging.getLogger(__name__)

FACTS_VERSION = 1
_FACTS_SUFFIX = ".facts.json"

WORDS = {
    "title": {"en": "What to do now: stock, retention, risk and budget", "zh": "当前行动建议：库存、客户挽留、风险与预算"},
    "as_of": {"en": "As of {as_of}", "zh": "数据日期：{as_of}"},
    "changes": {"en": "What changed since the previous report", "zh": "与上一期报告相比的变化"},
    "changes_sheet": {"en": "What changed", "zh": "变化"},
    "first": {
        "en": "This is the first report in {folder}; the next one will say what changed since {as_of}.",
        "zh": "这是 {folder} 中的第一份报告；下一份报告将说明自 {as_of} 以来的变化。",
    },
    "since": {"en": "Compared with the report of {previous}.", "zh": "与 {previous} 的报告相比。"},
    "figure": {"en": "Figure", "zh": "指标"},
    "decision": {"en": "Decision", "zh": "决策"},
    "previous": {"en": "Previous", "zh": "上一期"},
    "now": {"en": "Now", "zh": "本期"},
    "change": {"en": "Change", "zh": "变化"},
    "model_changed": {"en": "{title}: the model changed from version {old} to version {new}.", "zh": "{title}：模型由版本 {old} 更新为版本 {new}。"},
    "unavailable": {"en": "Not available in this report: {cause}", "zh": "本报告暂缺此部分：{cause}"},
    "contents": {"en": "Contents", "zh": "目录"},
    "how": {"en": "How to read this", "zh": "如何阅读"},
    "more_rows": {"en": "The first {shown:,} of {total:,} rows; the workbook has them all.", "zh": "仅显示前{shown:,}行（共{total:,}行）；完整内容见Excel工作簿。"},
    "none": {"en": "Nothing to show.", "zh": "暂无内容。"},
    "customers_listed": {"en": "{new:,} customers are new on the retention list; {gone:,} are no longer on it.",
                         "zh": "挽留名单新增{new:,}位客户；{gone:,}位客户已不在名单上。"},
    "accounts_alerted": {"en": "{new:,} accounts raised alerts that did not last time; {gone:,} alerted last time but not now.",
                         "zh": "{new:,}个账户本期新出现预警；{gone:,}个上期预警的账户本期没有预警。"},
    "lines_to_order": {"en": "{new:,} store × product lines need an order that did not last time; {gone:,} no longer do.",
                       "zh": "{new:,}个门店×商品本期新需下单；{gone:,}个上期需要下单的本期不再需要。"},
}


@dataclass(frozen=True)
class Change:
    """One key figure now and in the previous report."""

    section: str
    label: str
    previous: float
    now: float
    format: str
    higher_is: str


@dataclass
class BusinessReport:
    """What both layouts show, in one language."""

    lang: str
    as_of: str
    title: str
    sections: list[Section]
    changes: list[Change] = field(default_factory=list)
    change_notes: list[str] = field(default_factory=list)  # model versions, who joined or left a list
    previous_as_of: str | None = None
    folder: str = ""

    def text(self, key: str, **values: Any) -> str:
        """A report-level label in this report's language."""
        return words(WORDS, self.lang)[key].format(**values)


def format_value(value: float, kind: str, lang: str) -> str:
    """A number as a reader expects it: ``1,234``, ``1,234.5``, ``12.3%``; ``—`` when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "percent":
        return f"{value:.1%}"
    if kind == "score":
        return f"{value:.4f}"
    if kind in ("count", "money"):
        return f"{value:,.0f}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def change_text(change: Change, lang: str) -> tuple[str, str]:
    """The signed difference and its css class (better / worse / neutral)."""
    delta = change.now - change.previous
    if delta == 0 or math.isnan(delta):
        return ("0" if delta == 0 else "—"), ""
    sign = "+" if delta > 0 else "−"
    points = {"en": "{:.1f} pt", "zh": "{:.1f}个百分点"}[lang]
    text = sign + (points.format(abs(delta) * 100) if change.format == "percent" else format_value(abs(delta), change.format, lang))
    if change.previous and change.format != "percent":
        text += f" ({delta / abs(change.previous):+.0%})"
    good = {"better": delta > 0, "worse": delta < 0}.get(change.higher_is)
    return text, "" if good is None else ("better" if good else "worse")


def _unavailable(descriptor: Any, cause: Exception, lang: str) -> Section:
    """The part a pipeline would have written, saying why it is missing: under the same anchor and
    title (the section module's ``SECTION_KEY`` and ``WORDS``), so readers find it where it belongs."""
    from kpredict.pipeline import Ref

    key, title, sheet = descriptor.name, descriptor.name, descriptor.name
    if isinstance(descriptor.section, Ref):
        module = importlib.import_module(descriptor.section.target.partition(":")[0])
        key = getattr(module, "SECTION_KEY", key)
        texts = getattr(module, "WORDS", {})
        title = texts.get("title", {}).get(lang, title)
        sheet = texts.get("sheet", {}).get(lang, sheet)
    return Section(key=key, title=title, sheet=sheet[:31], model="", lede=words(WORDS, lang)["unavailable"].format(cause=str(cause)))


def _sections(as_of: pd.Timestamp, langs: Sequence[str], source_dir: Path, model: str | int,
              pipelines: Sequence[str] | None, configs: Mapping[str, Any]) -> tuple[dict[str, list[Section]], dict[str, Any]]:
    """Each language's sections, and the language-free facts; every pipeline is scored or read once."""
    from kpredict.pipeline import discover_pipelines, resolve
    from kpredict.reports.scored_outputs import scored_output

    found = {name: d for name, d in discover_pipelines().items() if d.section is not None}
    chosen = list(pipelines) if pipelines is not None else [n for n in REPORT_ORDER if n in found] + sorted(set(found) - set(REPORT_ORDER))
    unknown = [name for name in chosen if name not in found]
    if unknown:
        from kpredict.errors import ConfigError

        raise ConfigError(f"pipeline(s) {unknown} have no report section; pipelines with one: {sorted(found)}")
    per_lang: dict[str, list[Section]] = {lang: [] for lang in langs}
    facts: dict[str, Any] = {"version": FACTS_VERSION, "as_of": as_of.date().isoformat(), "sections": {}}
    causes: list[Exception] = []
    for name in chosen:
        descriptor = found[name]
        try:
            config = descriptor.load_config(configs.get(name))
            output = scored_output(name, as_of, source_dir=source_dir, model=model, config=config)
        except (ModelNotFoundError, DataNotFoundError) as exc:
            logger.warning("report: %s is left out: %s", name, exc)
            causes.append(exc)
            for lang in langs:
                per_lang[lang].append(_unavailable(descriptor, exc, lang))
            continue
        build = resolve(descriptor.section)
        for lang in langs:
            per_lang[lang].append(build(output, config, lang))
        first = per_lang[langs[0]][-1]
        facts["sections"][first.key] = {
            "pipeline": name, "model_version": first.model_version,
            "figures": {f.key: f.value for f in first.figures}, "ids": first.ids,
        }
    if chosen and len(causes) == len(chosen):  # a report with nothing in it is a failed job, not a report
        raise causes[0]
    return per_lang, facts


REPORT_ORDER = ("sales_forecast", "churn", "risk_anomaly", "budget")


def _previous_facts(folder: Path, as_of: pd.Timestamp) -> dict[str, Any] | None:
    """The facts of the latest report in ``folder`` dated before ``as_of`` (None: this is the first)."""
    dated = []
    for path in folder.glob(f"report_*{_FACTS_SUFFIX}"):
        stamp = path.name[len("report_"):-len(_FACTS_SUFFIX)]
        try:
            day = pd.Timestamp(stamp)
        except ValueError:
            continue
        if day < as_of:
            dated.append((day, path))
    for _, path in sorted(dated, reverse=True):
        try:
            content = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("%s cannot be read (%s); the report compares with an earlier one", path, exc)
            continue
        if isinstance(content, dict) and content.get("version") == FACTS_VERSION:
            return content
    return None


def _changes(report: BusinessReport, facts: dict[str, Any], previous: dict[str, Any]) -> None:
    w = words(WORDS, report.lang)
    report.previous_as_of = previous.get("as_of")
    for section in report.sections:
        before = previous.get("sections", {}).get(section.key)
        now = facts["sections"].get(section.key)
        if before is None or now is None:
            continue
        if str(before.get("model_version")) != str(section.model_version):
            report.change_notes.append(w["model_changed"].format(title=section.title, old=before.get("model_version"), new=section.model_version))
        for figure in section.figures:
            old = before.get("figures", {}).get(figure.key)
            if old is not None:
                report.changes.append(Change(section.title, figure.label, float(old), float(figure.value), figure.format, figure.higher_is))
        for key, ids in section.ids.items():
            if key in before.get("ids", {}) and key in WORDS:
                old_ids, new_ids = set(before["ids"][key]), set(ids)
                report.change_notes.append(w[key].format(new=len(new_ids - old_ids), gone=len(old_ids - new_ids)))


def build_business_report(as_of: str | pd.Timestamp, *, langs: Sequence[str] = ("en",), output_dir: str | Path = "output",
                          source_dir: str | Path | None = None, model: str | int = "champion",
                          pipelines: Sequence[str] | None = None, configs: Mapping[str, Any] | None = None,
                          ) -> tuple[dict[str, BusinessReport], dict[str, Any]]:
    """The report in each language and its facts, without writing anything (see :func:`write_business_report`)."""
    langs = [check_lang(lang) for lang in dict.fromkeys(langs)]
    if not langs:
        raise SchemaError("langs is empty: pass at least one of 'en', 'zh'")
    day = pd.Timestamp(as_of).normalize()
    folder = Path(output_dir)
    per_lang, facts = _sections(day, langs, Path(source_dir) if source_dir is not None else folder, model, pipelines, configs or {})
    previous = _previous_facts(folder, day)
    reports = {}
    for lang in langs:
        report = BusinessReport(lang=lang, as_of=facts["as_of"], title=words(WORDS, lang)["title"], sections=per_lang[lang], folder=str(folder))
        if previous is not None:
            _changes(report, facts, previous)
        reports[lang] = report
    return reports, facts


def write_business_report(as_of: str | pd.Timestamp, *, langs: Sequence[str] = ("en",), output_dir: str | Path = "output",
                          source_dir: str | Path | None = None, model: str | int = "champion",
                          pipelines: Sequence[str] | None = None, configs: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write the business report as of a date in each of ``langs``.

    Args:
        as_of: the scoring date the report covers.
        langs: ``"en"`` and / or ``"zh"``; each pipeline is read or scored once for all of them.
        output_dir: where the report files go; the previous report's facts are looked up here.
        source_dir: where the scoring outputs are looked up (default: ``output_dir``), e.g. the
            ``output_dir`` of ``configs/jobs.yaml``.
        model: ``"champion"`` reads the outputs found; a version number always scores afresh.
        pipelines: the sections to include (default: every pipeline with one, in decision order).
        configs: a pipeline's settings (object or YAML path) by name; default ``configs/<name>.yaml``.

    Returns:
        ``{"facts": path, "html_<lang>": path, "xlsx_<lang>": path, ...}``.

    Raises:
        ConfigError: an unknown language or a pipeline without a report section.
        ModelNotFoundError, DataNotFoundError: no pipeline could report (one that cannot while
            others can is shown as not available, and logged).
        StorageError: the output folder cannot be written (nothing is half-written).
    """
    from kpredict.reports.business_excel import write_business_workbook
    from kpredict.reports.business_html import render_business_html

    reports, facts = build_business_report(as_of, langs=langs, output_dir=output_dir, source_dir=source_dir, model=model,
                                           pipelines=pipelines, configs=configs)
    folder = Path(output_dir)
    stem = f"report_{facts['as_of']}"
    paths: dict[str, Path] = {"facts": folder / f"{stem}{_FACTS_SUFFIX}"}
    pages = {lang: render_business_html(report) for lang, report in reports.items()}
    for lang, report in reports.items():
        paths[f"html_{lang}"] = folder / f"{stem}_{lang}.html"
        paths[f"xlsx_{lang}"] = folder / f"{stem}_{lang}.xlsx"
        with atomic_path(paths[f"xlsx_{lang}"]) as tmp:
            write_business_workbook(report, tmp)
        with atomic_path(paths[f"html_{lang}"]) as tmp:
            tmp.write_text(pages[lang], encoding="utf-8")
    # The facts go last: the next report compares with a date only once its pages exist.
    with atomic_path(paths["facts"]) as tmp:
        tmp.write_text(json.dumps(facts, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return paths
