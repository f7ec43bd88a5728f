"""Packaging: `pipelines/` ships as `kpredict.pipelines`, never as a top-level `pipelines`."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_declared_packages_match_the_folders_on_disk():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(config["packages"])
    on_disk = {"kpredict." + ".".join(p.parent.relative_to(REPO / "kpredict").parts) if p.parent != REPO / "kpredict" else "kpredict" for p in (REPO / "kpredict").rglob("__init__.py")}
    on_disk |= {"kpredict.pipelines" + "".join("." + part for part in p.parent.relative_to(REPO / "pipelines").parts) for p in (REPO / "pipelines").rglob("__init__.py")}
    assert declared == on_disk
    assert config["package-dir"]["kpredict.pipelines"] == "pipelines"


def test_pipelines_import_as_kpredict_pipelines_from_the_installed_copy():
    import kpredict.pipelines
    from kpredict.pipeline import discover_pipelines

    assert Path(kpredict.pipelines.__file__).resolve().parent == REPO / "pipelines"
    folders = {p.parent.name for p in (REPO / "pipelines").glob("*/__init__.py")}
    assert set(discover_pipelines()) == folders


@pytest.mark.slow
def test_a_plain_wheel_holds_kpredict_pipelines_and_no_top_level_pipelines(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("kpredict-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "kpredict/pipelines/__init__.py" in names
    assert "kpredict/features/store.py" in names
    assert not any(name.startswith("pipelines/") for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "kpredict = kpredict.cli.main:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
