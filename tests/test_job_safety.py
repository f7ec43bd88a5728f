"""Scheduled-job safety: kills at any instant, unwritable outputs, leftovers of killed runs, locks.

The kill test runs the real writer in a child process and SIGKILLs it at points spread over the
whole write window, then reads the output the way a consumer does (manifest, then the files it
names) and checks that what it finds is one complete run: the previous one or the new one.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpredict.errors import StorageError
from kpredict.fileset import OutputLockedError, output_lock, sets_dir
from kpredict.hashing import file_hash
from kpredict.scoring.output import manifest_path, write_output_set

WRITER = """
import sys
from pathlib import Path
import numpy as np, pandas as pd
import kpredict.fileset as fileset
from kpredict.scoring.output import write_output_set
out, version, rows, links = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "links"
if not links:
    fileset._links_supported = lambda sets: False
frame = pd.DataFrame({"id": np.arange(rows), "version": version, "x": np.random.default_rng(version).random(rows)})
rejects = frame.head(7) if version % 2 else frame.head(0)
print("ready", flush=True)
write_output_set(out, frame, {"version": version}, companions={"replenishment": frame.iloc[::3]}, rejects=rejects)
print("done", flush=True)
"""


def _start(script: Path, out: Path, version: int, rows: int, links: bool) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, str(script), str(out), str(version), str(rows), "links" if links else "nolinks"],
        stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout.readline().strip() == "ready"
    return child


def _complete_version(out: Path) -> int | None:
    """What a consumer finds: the version of a complete set, None when there is no manifest.

    Asserts the set is whole: every file the manifest names has its recorded hash and holds
    that version's rows, and a file the manifest does not name is absent.
    """
    manifest = manifest_path(out)
    if not manifest.exists():
        return None
    content = json.loads(manifest.read_text())
    version = content["version"]
    files = {"output": content["output"], **content.get("companion_files", {})}
    if "rejects_file" in content:
        files["rejects"] = content["rejects_file"]
    for described in files.values():
        assert file_hash(out.parent / described["path"]) == described["sha256"]
        assert (pd.read_csv(out.parent / described["path"])["version"] == version).all()
    assert (out.with_name(out.stem + ".rejects.csv").exists()) == ("rejects_file" in content)
    return version


@pytest.mark.parametrize("links", [True, False], ids=["links", "no-links"])
def test_a_kill_at_any_instant_leaves_the_previous_set_or_the_new_one(tmp_path, links):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    out = tmp_path / "out" / "scores.csv"
    rows = 150_000
    first = _start(script, out, 0, rows, links)
    started = time.perf_counter()
    assert first.wait(60) == 0
    window = time.perf_counter() - started
    assert _complete_version(out) == 0

    previous, states = 0, {"previous": 0, "new": 0, "incomplete": 0}
    points = 8 if links else 4
    for step in range(1, points + 1):
        child = _start(script, out, step, rows, links)
        # kills spread over twice the first write's time: the early ones land inside the write, the
        # late ones after it, even when a loaded machine makes later writes slower than the first
        time.sleep(2 * window * (step - 0.5) / points)
        child.send_signal(signal.SIGKILL)
        child.wait(60)
        found = _complete_version(out)
        if found is None:
            assert not links, "with links a kill never leaves a set without its manifest"
            states["incomplete"] += 1
        else:
            assert found in (previous, step)
            states["previous" if found == previous else "new"] += 1
            previous = found
    assert states["previous"] and states["new"], states  # the kills did land inside the write window

    last = _start(script, out, 99, 10, links)
    assert last.wait(60) == 0 and _complete_version(out) == 99
    leftovers = [p.name for p in out.parent.iterdir() if p.name.endswith((".tmp", ".link"))]
    assert not leftovers  # temporary files of the killed runs were removed by the next run
    if links:
        assert sorted(p.name for p in sets_dir(out).iterdir() if p.name != "current") == [os.readlink(sets_dir(out) / "current")]


def _set(out: Path, version: int, rejects: int = 0) -> None:
    frame = pd.DataFrame({"id": np.arange(5), "version": version})
    write_output_set(out, frame, {"version": version}, companions={"replenishment": frame}, rejects=frame.head(rejects))


def test_a_file_the_new_set_lacks_disappears_with_the_switch(tmp_path):
    out = tmp_path / "scores.csv"
    _set(out, 1, rejects=2)
    assert out.with_name("scores.rejects.csv").is_file()
    _set(out, 2, rejects=0)
    assert _complete_version(out) == 2
    assert not os.path.lexists(out.with_name("scores.rejects.csv"))


def test_files_of_an_older_writer_are_taken_over(tmp_path):
    out = tmp_path / "scores.csv"
    for name in ("scores.csv", "scores.manifest.json", "scores.rejects.csv", "scores.replenishment.csv"):
        (tmp_path / name).write_text("old\n")
    (tmp_path / ".scores.csv.abc123.tmp").write_text("")  # what a killed atomic write used to leave
    _set(out, 3)
    assert _complete_version(out) == 3 and out.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".scores.csv.lock", ".scores.csv.sets", "scores.csv", "scores.manifest.json", "scores.replenishment.csv"]
    )


def test_a_second_writer_of_the_same_output_is_refused_while_the_first_holds_it(tmp_path):
    out = tmp_path / "scores.csv"
    with output_lock(out), pytest.raises(OutputLockedError, match=r"another kpredict run is writing .*scores\.csv"):
        _set(out, 1)
    _set(out, 1)  # released with the first writer
    assert _complete_version(out) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; the disk-full case below covers the path")
def test_a_read_only_folder_is_one_clear_error_and_the_previous_set_stays(tmp_path):
    out = tmp_path / "scores.csv"
    _set(out, 1)
    tmp_path.chmod(0o555)
    try:
        with pytest.raises(StorageError, match=r"cannot write .*: permission denied"):
            _set(out, 2)
    finally:
        tmp_path.chmod(0o755)
    assert _complete_version(out) == 1


@pytest.mark.parametrize(
    ("code", "cause"),
    [(errno.ENOSPC, "no space left on the device"), (errno.EROFS, "the file system is read-only"), (errno.EACCES, "permission denied")],
)
def test_a_failing_disk_mid_write_is_one_clear_error_and_the_previous_set_stays(tmp_path, monkeypatch, code, cause):
    out = tmp_path / "scores.csv"
    _set(out, 1)

    def failing(self, *args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing)
    with pytest.raises(StorageError, match=rf"cannot write {out}: {cause}"):
        _set(out, 2)
    assert _complete_version(out) == 1
    assert [p.name for p in sets_dir(out).iterdir() if p.name.startswith("staging-")] == []


def test_a_folder_that_cannot_be_created_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StorageError, match=rf"cannot write {blocker / 'sub'}"):
        _set(blocker / "sub" / "scores.csv", 1)


# ---------------------------------------------------------------------------- tracking server


@pytest.fixture
def closed_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server():
    """A port that accepts connections (the kernel's backlog) but never answers a byte."""
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield sock.getsockname()[1]
    sock.close()


def _tracking_at(monkeypatch, port: int, timeout: str = "1") -> str:
    from kpredict.tracking import store

    uri = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.setenv("KPREDICT_TRACKING_TIMEOUT_S", timeout)
    monkeypatch.setattr(store, "_configured", None)
    return uri


@pytest.mark.parametrize("server", ["closed_port", "silent_server"])
@pytest.mark.parametrize("command", [["models", "list"], ["score", "churn", "--as-of", "2026-10-01"], ["train", "churn"]])
def test_an_unreachable_tracking_server_is_one_line_exit_3_within_the_timeout_and_nothing_is_written(request, monkeypatch, tmp_path, server, command):
    from typer.testing import CliRunner

    from kpredict.cli.main import app

    uri = _tracking_at(monkeypatch, request.getfixturevalue(server))
    monkeypatch.chdir(tmp_path)  # whatever the command would write lands here
    started = time.perf_counter()
    result = CliRunner().invoke(app, command)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())
    assert text.startswith(f"error: the MLflow tracking server at {uri} cannot be reached within 1 s"), text
    assert ("no answer" in text) == (server == "silent_server")
    assert elapsed < 10  # MLflow's own retries would take minutes
    assert list(tmp_path.iterdir()) == []  # no feature store, no output, no mlflow.db


def test_the_tracking_timeout_setting_is_checked(monkeypatch, closed_port):
    from kpredict.errors import ConfigError
    from kpredict.tracking.store import check_reachable

    _tracking_at(monkeypatch, closed_port, timeout="soon")
    with pytest.raises(ConfigError, match=r"KPREDICT_TRACKING_TIMEOUT_S must be a positive number of seconds; got 'soon'"):
        check_reachable()


def test_a_server_that_answers_even_with_an_error_status_counts_as_reachable(monkeypatch):
    import http.server
    import threading

    from kpredict.tracking.store import check_reachable

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # the http.server interface names it so
            self.send_error(404)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _tracking_at(monkeypatch, server.server_address[1])
        check_reachable()  # no error
    finally:
        server.shutdown()


# ---------------------------------------------------------------------------- model stores


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def _recorded_paths(db: Path, needle: str) -> int:
    import sqlite3

    from kpredict.tracking.relocate import _text_columns

    with sqlite3.connect(db) as connection:
        return sum(
            connection.execute(f'SELECT count(*) FROM "{t}" WHERE "{c}" LIKE ?', (f"%{needle}%",)).fetchone()[0]
            for t, c in _text_columns(connection)
        )


@pytest.fixture
def copied_store(churn_project, tmp_path, monkeypatch):
    """A copy of the session's model store (holding the churn model), and the original's folder."""
    import shutil

    from kpredict.tracking import store

    original = Path(store._sqlite_path(os.environ["MLFLOW_TRACKING_URI"])).parent
    copy = tmp_path / "moved" / "models"
    shutil.copytree(original, copy)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{copy / 'mlflow.db'}")
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.setattr(store, "_configured", None)
    yield original, copy
    monkeypatch.undo()
    store._configured = None
    store.configure()  # back to the session's store for the tests that follow


def test_a_copied_store_is_rewritten_to_stand_on_its_own(copied_store):
    from kpredict.scoring.bundle import load_bundle

    original, copy = copied_store
    assert _recorded_paths(copy / "mlflow.db", str(original)) > 0
    bundle = load_bundle("churn")
    assert bundle.directory.is_relative_to(copy)  # read from the copy, not from the original
    assert _recorded_paths(copy / "mlflow.db", str(original)) == 0  # new runs in the copy write into the copy
    assert _recorded_paths(original / "mlflow.db", str(copy)) == 0  # the original is untouched


def test_scoring_from_a_read_only_store_reads_in_place_and_writes_nothing_into_it(copied_store, churn_project, tmp_path, monkeypatch):
    from kpredict.scoring import score
    from kpredict.scoring.bundle import load_bundle
    from kpredict.tracking import relocate

    original, copy = copied_store
    monkeypatch.setattr(relocate, "store_is_writable", lambda db: False)  # root ignores file modes: say it
    for store in (copy, original):
        for written_by_mlflow in store.rglob("registered_model_meta"):  # as fresh from training, before any load
            written_by_mlflow.unlink()
    before, original_before = _snapshot(copy), _snapshot(original)
    result = score("churn", "2026-10-01", config=churn_project[1], output_dir=tmp_path / "out")
    assert result.frame["churn_probability"].between(0, 1).all()
    assert load_bundle("churn").directory.is_relative_to(copy)  # the copy's own files
    assert _snapshot(copy) == before  # not one byte written into the store
    assert _snapshot(original) == original_before  # nor into the store it was copied from
    assert _recorded_paths(copy / "mlflow.db", str(original)) > 0  # a read-only store is translated, not rewritten


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file modes; the test above says read-only by hand")
def test_scoring_from_a_store_the_user_cannot_write(copied_store, churn_project, tmp_path):
    from kpredict.scoring import score

    _, copy = copied_store
    for path in [copy, *copy.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        result = score("churn", "2026-10-01", config=churn_project[1], output_dir=tmp_path / "out")
    finally:
        for path in [copy, *copy.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
    assert result.frame["churn_probability"].between(0, 1).all()


def test_a_link_planted_at_the_output_name_is_replaced_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    out = tmp_path / "out" / "scores.csv"
    out.parent.mkdir()
    os.symlink(victim, out)
    _set(out, 1)
    assert victim.read_text() == "keep me\n"
    assert _complete_version(out) == 1 and out.resolve().is_relative_to(sets_dir(out).resolve())


def test_training_into_a_store_that_cannot_be_written_stops_before_any_work(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from kpredict.cli.main import app
    from kpredict.tracking import store

    models = tmp_path / "models"
    models.mkdir()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{models / 'mlflow.db'}")
    monkeypatch.setattr(store, "_configured", None)
    real_access = os.access
    monkeypatch.setattr(store.os, "access", lambda path, mode: False if Path(path).is_relative_to(models) else real_access(path, mode))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = CliRunner().invoke(app, ["train", "churn"])
    assert result.exit_code == 2, result.output
    assert " ".join(result.output.split()).startswith(f"error: cannot write the model store {models}: permission denied or a read-only file system")
    assert list(work.iterdir()) == [] and list(models.iterdir()) == []
    store._configured = None
