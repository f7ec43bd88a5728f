"""The public API is small, importable and kept honest (httpx's test_exported_members idea)."""

from __future__ import annotations

import subprocess
import sys

import kpredict


def test_every_exported_name_resolves():
    for name in kpredict.__all__:
        assert getattr(kpredict, name) is not None, name


def test_exports_stay_a_small_api():
    assert len(kpredict.__all__) <= 20


def test_import_kpredict_does_not_load_heavy_libraries():
    code = (
        "import sys, kpredict; heavy = [m for m in ('pandas', 'mlflow', 'lightgbm', 'shap', 'statsforecast', 'duckdb')"
        " if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_cli_help_does_not_load_heavy_libraries():
    code = (
        "import sys\nfrom kpredict.cli.main import app\n"
        "heavy = [m for m in ('pandas', 'mlflow', 'lightgbm', 'shap', 'statsforecast', 'duckdb') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
