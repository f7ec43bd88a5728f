"""The business report: all four decisions from the outputs the jobs wrote, in zh and en, what changed
since the previous report, a pipeline that cannot report, and the page in a real browser."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from kpredict.cli.main import app

AS_OF = "2026-11-01"
SECTIONS = ("changes", "replenishment", "retention", "risk", "budget")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def scored(tmp_path_factory, sales_project, churn_project, risk_project, budget_project):
    """Each pipeline scored as of AS_OF into one folder, as run-jobs would; returns (folder, configs)."""
    from kpredict.scoring import score

    folder = tmp_path_factory.mktemp("jobs_output")
    configs = {"sales_forecast": sales_project[1], "churn": churn_project[1], "risk_anomaly": risk_project[1], "budget": budget_project[1]}
    versions = {"sales_forecast": sales_project[2], "churn": churn_project[2], "risk_anomaly": risk_project[2], "budget": budget_project[2]}
    params = {"risk_anomaly": {"window": "7d"}}
    for name, config in configs.items():
        score(name, AS_OF, model=versions[name].model_version, config=config, output_dir=folder, **params.get(name, {}))
    return folder, configs


@pytest.fixture(scope="module")
def report(scored, tmp_path_factory):
    from kpredict.reports import write_business_report

    folder, configs = scored
    out = tmp_path_factory.mktemp("report")
    paths = write_business_report(AS_OF, langs=("en", "zh"), output_dir=out, source_dir=folder, configs=configs)
    return out, paths


class _Page(HTMLParser):
    """Section ids, every src/href, and the visible text of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.links: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        values = dict(attrs)
        if tag == "section":
            self.ids.append(values.get("id", ""))
        self.links += [values[k] for k in ("src", "href") if values.get(k)]

    def handle_data(self, data):
        self.text.append(data)


def _page(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_the_report_covers_every_decision_from_the_jobs_outputs_in_both_languages(report, scored):
    _, paths = report
    folder, _ = scored
    assert sorted(paths) == ["facts", "html_en", "html_zh", "xlsx_en", "xlsx_zh"]
    facts = json.loads(paths["facts"].read_text(encoding="utf-8"))
    assert sorted(facts["sections"]) == ["budget", "replenishment", "retention", "risk"]

    # The figures are the outputs' own numbers, not recomputed from something else.
    churn = pd.read_parquet(folder / f"churn_{AS_OF}.parquet")
    orders = pd.read_parquet(folder / f"sales_forecast_{AS_OF}.replenishment.parquet")
    alerts = pd.read_parquet(folder / f"risk_anomaly_{AS_OF}.alerts.parquet")
    summary = pd.read_parquet(folder / f"budget_{AS_OF}.summary.parquet").iloc[0]
    figures = {key: section["figures"] for key, section in facts["sections"].items()}
    assert figures["retention"]["customers_high_risk"] == (churn["risk_band"] == "high").sum()
    assert figures["retention"]["customers_to_contact"] == churn["contact"].sum()
    assert figures["replenishment"]["units_to_order"] == pytest.approx(orders["order_quantity"].sum())
    assert figures["replenishment"]["lines_to_order"] == (orders["order_quantity"] > 0).sum()
    assert figures["risk"]["payment_alerts"] == len(alerts) > 0
    assert figures["budget"]["expected_uplift"] == pytest.approx(summary["expected_uplift"])
    listed = churn[churn["risk_band"].isin(["high", "medium"])]["customer_id"]
    assert facts["sections"]["retention"]["ids"]["customers_listed"] == sorted(listed)

    for lang in ("en", "zh"):
        page = _page(paths[f"html_{lang}"])
        text = " ".join(page.text)
        assert page.ids == list(SECTIONS)
        # Self-contained: no script, nothing fetched; every image is inline.
        assert "script" not in page.tags and "link" not in page.tags
        assert all(link.startswith(("data:image/png;base64,", "#")) for link in page.links), page.links
        assert sum(link.startswith("data:image/png") for link in page.links) >= 2  # forecast charts, response curves
        # Plain words: no raw feature name or column name (snake_case identifiers) reaches the reader.
        raw_names = {*alerts["reason_1_feature"].dropna(), *churn["reason_1_feature"].dropna(), "order_quantity", "churn_probability", "risk_band"}
        for raw in {name for name in raw_names if "_" in name}:
            assert not re.search(rf"\b{re.escape(raw)}\b", text), (lang, raw)
        assert alerts["account_id"].iloc[0] in text and listed.iloc[0] in text

    zh = " ".join(_page(paths["html_zh"]).text)
    assert "补货" in zh and "客户挽留" in zh and "风险预警" in zh and "预算计划" in zh
    assert "Replenishment" not in zh and "Budget plan" not in zh


def test_the_workbook_has_a_sheet_per_decision_after_what_changed(report):
    import openpyxl

    _, paths = report
    expected = {"en": ["What changed", "Replenishment", "Retention", "Risk alerts", "Budget plan"],
                "zh": ["变化", "补货", "客户挽留", "风险预警", "预算计划"]}
    for lang, sheets in expected.items():
        book = openpyxl.load_workbook(paths[f"xlsx_{lang}"])
        assert book.sheetnames == sheets
        risk = book[sheets[3]]
        values = [cell.value for row in risk.iter_rows() for cell in row if cell.value is not None]
        assert any(isinstance(v, float) and 0.9 < v <= 1 for v in values)  # anomaly scores stay numbers
        assert all(not (isinstance(v, str) and v.startswith("=")) for v in values)
        assert book[sheets[4]]._images, "the budget sheet carries the response curves"


def test_the_next_report_says_what_changed(report, scored, tmp_path):
    from kpredict.reports import write_business_report

    _, paths = report
    folder, configs = scored
    facts = json.loads(paths["facts"].read_text(encoding="utf-8"))
    previous = json.loads(json.dumps(facts))
    previous["as_of"] = "2026-10-25"
    retention = previous["sections"]["retention"]
    retention["figures"]["customers_high_risk"] -= 3
    retention["ids"]["customers_listed"] = retention["ids"]["customers_listed"][2:] + ["C999998", "C999999", "C999997"]
    previous["sections"]["budget"]["model_version"] = "0"
    (tmp_path / "report_2026-10-25.facts.json").write_text(json.dumps(previous), encoding="utf-8")
    (tmp_path / "report_2026-10-20.facts.json").write_text(json.dumps({**facts, "as_of": "2026-10-20"}), encoding="utf-8")
    (tmp_path / "report_2026-12-01.facts.json").write_text(json.dumps(facts), encoding="utf-8")  # later: never "previous"

    new = write_business_report(AS_OF, langs=("en", "zh"), output_dir=tmp_path, source_dir=folder, configs=configs)
    en = " ".join(" ".join(_page(new["html_en"]).text).split())
    assert "Compared with the report of 2026-10-25." in en
    assert "2 customers are new on the retention list; 3 are no longer on it." in en
    assert "Budget plan: where to spend: the model changed from version 0 to version" in en
    high = facts["sections"]["retention"]["figures"]["customers_high_risk"]
    assert re.search(rf"at high risk {high - 3:,.0f} {high:,.0f} \+3 ", en), en[:2000]
    zh = " ".join(_page(new["html_zh"]).text)
    assert "挽留名单新增2位客户；3位客户已不在名单上。" in zh

    import openpyxl

    sheet = openpyxl.load_workbook(new["xlsx_en"])["What changed"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert ["Retention: customers at risk of leaving", "at high risk", high - 3, high, "+3 (+" + f"{3 / (high - 3):.0%})"] in rows


def test_a_pipeline_that_cannot_report_is_shown_as_not_available_and_none_at_all_fails(scored, tmp_path):
    from kpredict.errors import ModelNotFoundError
    from kpredict.reports import write_business_report

    folder, configs = scored
    only_churn = tmp_path / "only_churn"
    only_churn.mkdir()
    for path in folder.glob(f"churn_{AS_OF}*"):
        shutil.copy(path, only_churn / path.name)
    no_data = {**configs, "budget": configs["budget"].model_copy(update={"data_dir": tmp_path / "no_such_folder"})}
    paths = write_business_report(AS_OF, output_dir=tmp_path / "out", source_dir=only_churn, configs=no_data, pipelines=["churn", "budget"])
    parsed = _page(paths["html_en"])
    page = " ".join(" ".join(parsed.text).split())
    assert page.count("Not available in this report:") == 1 and "no_such_folder" in page
    assert parsed.ids == ["changes", "retention", "budget"] and "Budget plan: where to spend" in page  # where it belongs
    assert sorted(json.loads(paths["facts"].read_text())["sections"]) == ["retention"]

    empty = tmp_path / "empty"
    with pytest.raises(ModelNotFoundError):
        write_business_report(AS_OF, output_dir=empty, source_dir=folder, configs=configs, pipelines=["churn"], model="999")
    assert not empty.exists() or not any(empty.iterdir())


@pytest.mark.skipif(CHROMIUM is None, reason=(
    "headless Chromium is not installed, so the report is not opened in a browser: install Debian's 'chromium' "
    "(make test does so where it runs as root with apt-get)"))
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_opens_in_headless_chromium_without_errors_and_shows_every_section(report, lang):
    from playwright.sync_api import sync_playwright

    out, paths = report
    problems: list[str] = []
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync",
        ])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda message: problems.append(message.text) if message.type in ("error", "warning") else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("request", lambda request: requested.append(request.url))
            page.goto(paths[f"html_{lang}"].resolve().as_uri(), wait_until="load")
            for section in SECTIONS:
                assert page.locator(f"section#{section}").is_visible(), section
                assert page.locator(f"section#{section} h2").inner_text().strip()
            assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
            assert page.evaluate("document.images.length") >= 2
            shot = out / f"report_{AS_OF}_{lang}.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert all(url.startswith(("file:", "data:")) for url in requested), requested  # nothing from the network
    assert shot.stat().st_size > 50_000
    print(f"screenshot: {shot}")


def test_the_report_command_reads_a_folder_of_job_outputs(scored, tmp_path, monkeypatch):
    folder, configs = scored
    (tmp_path / "configs").mkdir()
    for name, config in configs.items():  # a project folder: configs/<pipeline>.yaml are the defaults
        (tmp_path / "configs" / f"{name}.yaml").write_text(yaml.safe_dump(config.model_dump(mode="json")), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    done = runner.invoke(app, ["report", "--as-of", AS_OF, "--from", str(folder), "--output-dir", "out", "--lang", "zh"])
    assert done.exit_code == 0, done.output
    assert f"html_zh: out/report_{AS_OF}_zh.html" in " ".join(done.output.split())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"report_{AS_OF}.facts.json", f"report_{AS_OF}_zh.html", f"report_{AS_OF}_zh.xlsx"]
    bad = runner.invoke(app, ["report", "--as-of", AS_OF, "--lang", "fr"])
    assert bad.exit_code == 2 and "lang must be one of ['en', 'zh']; got 'fr'" in bad.output
    stray = runner.invoke(app, ["report", "--as-of", AS_OF, "--config", "configs/churn.yaml"])
    assert stray.exit_code == 2 and "--config needs a PIPELINE" in " ".join(stray.output.split())
