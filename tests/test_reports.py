"""kpredict.reports: the retention list as an Excel workbook and an HTML page, in zh and en."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from kpredict.errors import ConfigError, SchemaError
from kpredict.reports import build_retention_list, suggest_actions, write_retention_report

AS_OF = "2024-06-30"
PNG = b"\x89PNG\r\n\x1a\n" + b"not really a chart but the right signature"

HEADERS = {
    "en": ["Rank", "Customer ID", "Churn probability", "Risk band", "Reason 1", "Reason 2", "Reason 3", "Suggested action"],
    "zh": ["排名", "客户编号", "流失概率", "风险等级", "原因一", "原因二", "原因三", "建议行动"],
}
FILLS = {"high": "FFFFC7CE", "medium": "FFFFEB9C", "low": "FFC6EFCE"}


def _scored() -> pd.DataFrame:
    """Six customers, deliberately not in rank order; ids that must stay plain text."""
    rows = [
        # customer_id, probability, band, rank, (feature, en, zh) of reason 1
        ("C-3", 0.35, "high", 3, ("orders_trend_30d_vs_90d",
         "orders in the last 30 days vs the 90-day monthly average: down 62%", "近30天订单数相对前90天月均的变化：下降62%")),
        ("<script>alert(1)</script>", 0.81, "high", 1, ("tickets_30d",
         "support tickets in the last 30 days: 3", "近30天工单数：3")),
        ("C-5", 0.05, "low", 5, ("contract", "contract type: monthly", "合约类型：monthly")),
        ("=1+1", 0.62, "high", 2, ("contract", "contract type: monthly", "合约类型：monthly")),
        ("C-6", 0.02, "low", 6, ("", "", "")),
        ("C-4", 0.12, "medium", 4, ("", "", "")),
    ]  # fmt: skip
    frame = pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "as_of": pd.Timestamp(AS_OF),
            "model_name": "kpredict-churn",
            "model_version": "7",
            "run_id": "run-abc",
            "churn_probability": [r[1] for r in rows],
            "risk_band": [r[2] for r in rows],
            "rank": [r[3] for r in rows],
            "reason_1_feature": [r[4][0] for r in rows],
            "reason_1_en": [r[4][1] for r in rows],
            "reason_1_zh": [r[4][2] for r in rows],
        }
    )
    frame["reason_2_en"] = ["days since the last order: 45 days", "", "", "monthly fee: 29.9", "", ""]
    frame["reason_2_zh"] = ["距上次下单天数：45天", "", "", "月费：29.9", "", ""]
    frame["reason_3_en"] = ""
    frame["reason_3_zh"] = ""
    return frame


def _sheet_rows(path: Path, index: int = 0) -> list[tuple]:
    sheet = load_workbook(path).worksheets[index]
    return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_workbook_has_the_headers_and_sheets_of_each_language(tmp_path, lang):
    paths = write_retention_report(_scored(), tmp_path, lang=lang)
    assert paths["xlsx"] == tmp_path / f"retention_list_{AS_OF}_{lang}.xlsx"
    book = load_workbook(paths["xlsx"])
    assert book.sheetnames == {"en": ["Retention list", "About"], "zh": ["挽留名单", "说明"]}[lang]
    assert list(_sheet_rows(paths["xlsx"])[0]) == HEADERS[lang]


def test_rows_are_at_risk_customers_sorted_by_rank_with_reasons_and_actions(tmp_path):
    paths = write_retention_report(_scored(), tmp_path, lang="en")
    body = _sheet_rows(paths["xlsx"])[1:]
    assert [row[0] for row in body] == [1, 2, 3, 4]
    assert [row[1] for row in body] == ["<script>alert(1)</script>", "=1+1", "C-3", "C-4"]
    assert [row[2] for row in body] == [0.81, 0.62, 0.35, 0.12]
    assert [row[3] for row in body] == ["High risk", "High risk", "High risk", "Medium risk"]
    assert body[0][4] == "support tickets in the last 30 days: 3"
    assert body[2][5] == "days since the last order: 45 days"
    assert [row[6] for row in body] == [None, None, None, None]  # empty reasons stay empty cells
    assert [row[7] for row in body] == [
        "call within 48 hours; escalate the open ticket",
        "call to offer a plan review / discount",
        "call and send a personalised win-back offer",
        "include in the next retention campaign",
    ]


def test_everyone_is_listed_when_not_at_risk_only(tmp_path):
    paths = write_retention_report(_scored(), tmp_path, lang="zh", at_risk_only=False)
    body = _sheet_rows(paths["xlsx"])[1:]
    assert [row[0] for row in body] == [1, 2, 3, 4, 5, 6]
    assert [row[3] for row in body] == ["高风险", "高风险", "高风险", "中风险", "低风险", "低风险"]
    assert body[0][4] == "近30天工单数：3" and body[0][7] == "48小时内电话回访；升级处理未结工单"
    assert body[4][7] == "暂无需行动，持续关注"


def test_bands_are_colour_coded_and_the_layout_is_set(tmp_path):
    paths = write_retention_report(_scored(), tmp_path, lang="en", at_risk_only=False)
    sheet = load_workbook(paths["xlsx"]).worksheets[0]
    for row in range(2, sheet.max_row + 1):
        band = {"High risk": "high", "Medium risk": "medium", "Low risk": "low"}[sheet.cell(row, 4).value]
        assert sheet.cell(row, 4).fill.fgColor.rgb == FILLS[band]
        assert sheet.cell(row, 3).fill.fgColor.rgb == FILLS[band]
        assert sheet.cell(row, 3).number_format == "0.0%"
    assert all(cell.font.bold for cell in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:H7"
    assert sheet.column_dimensions["E"].width > sheet.column_dimensions["A"].width >= 8


def test_ids_and_texts_are_never_formulas(tmp_path):
    paths = write_retention_report(_scored(), tmp_path)
    sheet = load_workbook(paths["xlsx"]).worksheets[0]
    cell = sheet.cell(3, 2)
    assert cell.value == "=1+1" and cell.data_type == "s"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_about_sheet_tells_model_run_date_and_counts(tmp_path, lang):
    paths = write_retention_report(_scored(), tmp_path, lang=lang)
    about = dict((row[0], row[1]) for row in _sheet_rows(paths["xlsx"], 1) if row[0] is not None)
    labels = {
        "en": ("As of", "Model", "Model version", "Run ID", "High risk", "Medium risk", "Low risk", "Customers in this list"),
        "zh": ("数据日期", "模型", "模型版本", "运行编号", "高风险", "中风险", "低风险", "本名单客户数"),
    }[lang]
    assert [about[label] for label in labels] == [AS_OF, "kpredict-churn", "7", "run-abc", 3, 1, 2, 4]
    assert about["How to read this list"].startswith("Each row is a customer")
    assert about["如何阅读本名单"].startswith("每一行是模型认为")


def test_html_page_lists_the_rows_escapes_text_and_embeds_the_chart(tmp_path):
    paths = write_retention_report(_scored(), tmp_path, lang="zh", drivers_png=PNG, title="六月 <挽留> 名单")
    page = paths["html"].read_text(encoding="utf-8")
    assert paths["html"].name == f"retention_list_{AS_OF}_zh.html"
    assert page.startswith("<!DOCTYPE html>") and '<html lang="zh-CN">' in page and '<meta charset="utf-8">' in page
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "六月 &lt;挽留&gt; 名单" in page
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in page
    for customer in ("=1+1", "C-3", "C-4"):
        assert f"<td>{customer}</td>" in page
    assert "<td>C-5</td>" not in page  # low risk is not listed
    assert page.index("&lt;script&gt;") < page.index("<td>=1+1</td>") < page.index("<td>C-3</td>")
    assert "高风险：3" in page and "中风险：1" in page and "低风险：2" in page
    assert "kpredict-churn" in page and "run-abc" in page


def test_the_workbook_carries_the_drivers_chart_on_its_about_sheet(tmp_path):
    from matplotlib.figure import Figure

    from kpredict.explain import figure_to_png

    figure = Figure(figsize=(2, 1))
    figure.subplots().barh([0, 1], [1.0, 2.0])
    paths = write_retention_report(_scored(), tmp_path, lang="en", drivers_png=figure_to_png(figure))
    assert len(load_workbook(paths["xlsx"]).worksheets[1]._images) == 1


def test_html_without_a_chart_has_no_image(tmp_path):
    page = write_retention_report(_scored(), tmp_path, lang="en")["html"].read_text(encoding="utf-8")
    assert "<img" not in page and '<html lang="en">' in page and "Customers at risk of leaving" in page


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_empty_input_gives_a_valid_report_saying_no_one_is_at_risk(tmp_path, lang):
    empty = _scored().iloc[0:0]
    paths = write_retention_report(empty, tmp_path, lang=lang, as_of=AS_OF)
    rows = _sheet_rows(paths["xlsx"])
    message = {"en": f"No customers at risk on {AS_OF}.", "zh": f"{AS_OF} 没有存在流失风险的客户。"}[lang]
    assert list(rows[0]) == HEADERS[lang]
    assert rows[1][0] == message
    assert message in paths["html"].read_text(encoding="utf-8")
    about = dict((row[0], row[1]) for row in _sheet_rows(paths["xlsx"], 1) if row[0] is not None)
    assert about[{"en": "Customers scored", "zh": "评分客户数"}[lang]] == 0


def test_no_one_at_risk_and_no_date_at_all(tmp_path):
    only_low = _scored().query("risk_band == 'low'")
    page = write_retention_report(only_low, tmp_path)["html"].read_text(encoding="utf-8")
    assert f"No customers at risk on {AS_OF}." in page
    undated = write_retention_report(_scored().iloc[0:0], tmp_path)
    assert undated["xlsx"].name == "retention_list_undated_en.xlsx"


def test_a_failing_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken_write(self, text, *args, **kwargs):
        with open(self, "w", encoding="utf-8") as handle:
            handle.write(text[: len(text) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", broken_write)
    with pytest.raises(OSError, match="disk full"):
        write_retention_report(_scored(), tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_a_failing_rewrite_keeps_the_previous_report(tmp_path, monkeypatch):
    from kpredict.reports import excel

    paths = write_retention_report(_scored(), tmp_path)
    before = {kind: path.read_bytes() for kind, path in paths.items()}

    def broken_about(workbook, report, drivers_png=None):
        raise RuntimeError("crash while writing the About sheet")

    monkeypatch.setattr(excel, "_about_sheet", broken_about)
    changed = _scored().assign(churn_probability=0.99)
    with pytest.raises(RuntimeError, match="About sheet"):
        write_retention_report(changed, tmp_path)
    assert {kind: path.read_bytes() for kind, path in paths.items()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())


def test_same_input_gives_the_same_files(tmp_path):
    first = write_retention_report(_scored(), tmp_path / "a", lang="zh", drivers_png=PNG)
    second = write_retention_report(_scored(), tmp_path / "b", lang="zh", drivers_png=PNG)
    for kind in ("xlsx", "html"):
        assert first[kind].read_bytes() == second[kind].read_bytes()


def test_bad_input_is_a_clear_error_without_data_values(tmp_path):
    scored = _scored()
    with pytest.raises(SchemaError, match=r"missing columns \['rank'\].*kpredict score churn"):
        write_retention_report(scored.drop(columns="rank"), tmp_path)
    with pytest.raises(SchemaError, match=r"risk_band has 1 row\(s\) outside") as excinfo:
        write_retention_report(scored.assign(risk_band=["secret-band", *scored["risk_band"][1:]]), tmp_path)
    assert "secret-band" not in str(excinfo.value)
    with pytest.raises(SchemaError, match=r"churn_probability has 2 row\(s\)"):
        write_retention_report(scored.assign(churn_probability=[1.5, np.nan, 0.1, 0.2, 0.3, 0.4]), tmp_path)
    with pytest.raises(SchemaError, match=r"2 distinct as_of dates"):
        write_retention_report(scored.assign(as_of=["2024-06-30"] * 5 + ["2024-07-31"]), tmp_path)
    with pytest.raises(SchemaError, match=r"drivers_png is not a PNG"):
        write_retention_report(scored, tmp_path, drivers_png=b"GIF89a")
    with pytest.raises(ConfigError, match=r"lang must be one of \['en', 'zh'\]"):
        write_retention_report(scored, tmp_path, lang="fr")
    assert list(tmp_path.iterdir()) == []


def test_actions_follow_the_top_reason_topic_from_feature_or_words():
    frame = pd.DataFrame(
        {
            "risk_band": ["high", "medium", "high", "medium", "low"],
            "reason_1_feature": ["satisfaction_min_90d", "", "days_since_last_order", "", "tickets_30d"],
            "reason_1_en": ["", "average discount over 90 days: 12%", "", "", ""],
            "reason_1_zh": ["", "近90天平均折扣：0.12", "", "", ""],
        }
    )
    assert suggest_actions(frame, "en").tolist() == [
        "call within 48 hours; escalate the open ticket",
        "offer a plan review / discount",
        "call and send a personalised win-back offer",
        "include in the next retention campaign",
        "no action; keep monitoring",
    ]
    zh_only = frame.drop(columns=["reason_1_feature", "reason_1_en"])
    assert suggest_actions(zh_only, "zh").tolist()[1] == "提供套餐评估或折扣"


def test_the_list_is_built_from_top_reasons_output():
    """End to end with kpredict.explain: reasons from contributions feed the list and its actions."""
    from kpredict.explain import top_reasons

    values = pd.DataFrame({"tickets_30d": [4.0, 0.0], "orders_trend_30d_vs_90d": [-0.5, -0.8]})
    contributions = np.array([[1.2, 0.3, -2.0], [0.0, 0.9, -2.0]])
    reasons = top_reasons(contributions, values, {}, k=3)
    scored = pd.DataFrame(
        {"customer_id": [10, 11], "as_of": AS_OF, "model_name": "m", "model_version": "1", "run_id": "r",
         "churn_probability": [0.6, 0.2], "risk_band": ["high", "medium"], "rank": [1, 2]}
    ).join(reasons)  # fmt: skip
    report = build_retention_list(scored, lang="en")
    assert report.rows["customer_id"].tolist() == ["10", "11"]
    assert report.rows["reason_1"].tolist() == ["tickets_30d: 4", "orders_trend_30d_vs_90d: -0.8"]
    assert report.rows["action"].tolist() == [
        "call within 48 hours; escalate the open ticket",
        "send a personalised win-back offer",
    ]


def test_importing_reports_stays_light():
    code = "import sys, kpredict.reports; print(','.join(m for m in ('pandas', 'xlsxwriter', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize(("lang", "words"), [("en", ("Contact now", "To contact now: 2 (contact capacity 2)", "the next 30 days")), ("zh", ("本期联系", "本期联系客户数：2（联系能力2）", "未来30天"))])
def test_the_list_says_whom_to_contact_the_capacity_and_the_horizon_in_days(tmp_path, lang, words):
    scored = _scored()
    scored["contact"] = scored["rank"] <= 2
    paths = write_retention_report(scored, tmp_path, lang=lang, horizon_days=30, capacity=2)
    page = paths["html"].read_text(encoding="utf-8")
    for text in words:
        assert text in page
    assert "within the horizon" not in page and "预测期内" not in page
    header, *rows = _sheet_rows(paths["xlsx"])
    column = header.index(words[0])
    marked = {row[1]: row[column] for row in rows}
    yes = "yes" if lang == "en" else "是"
    assert marked["=1+1"] == yes and marked["C-3"] is None  # rank 2 is contacted, rank 3 is not
