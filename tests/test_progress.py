"""The one progress display per stage: drawn on a terminal, silent in logs, stages nest in one display."""

from __future__ import annotations

import rich.console

from kpredict.progress import progress_bar, progress_console


def test_a_stage_inside_a_stage_joins_one_display_and_logs_get_none(monkeypatch):
    with progress_bar("not a terminal", 3) as advance:  # pytest captures the output: no terminal
        advance(1)
    assert not progress_console()._live_stack
    monkeypatch.setattr(rich.console.Console, "is_terminal", property(lambda self: True))
    with progress_bar("outer", 2) as outer:
        outer(1)
        with progress_bar("inner", 5) as inner:  # joins the display on screen, never a second one beside it
            inner(5)
        outer(1)
        assert len(progress_console()._live_stack) == 1
    assert not progress_console()._live_stack  # every display is gone when its stage ends


def test_a_log_gets_a_line_at_start_end_and_a_heartbeat_while_a_stage_runs(monkeypatch, capsys):
    import time

    import kpredict.progress as progress

    monkeypatch.setattr(progress, "HEARTBEAT_SECONDS", 0.05)
    with progress_bar("training", None):
        with progress_bar("tuning", 4) as advance:
            advance(3)
            time.sleep(0.3)  # a library call that reports nothing of its own
    lines = capsys.readouterr().err.splitlines()
    assert "training: started" in lines[0] and "tuning: started (4 steps)" in lines[1]
    beats = [line for line in lines if "tuning: 3 of 4 done" in line and "elapsed" in line]
    assert len(beats) >= 2, lines  # the innermost stage, with its count, while nothing else is written
    assert "tuning: finished in 0:00" in lines[-2] and "training: finished in" in lines[-1]
    time.sleep(0.2)
    assert capsys.readouterr().err == ""  # no stage runs: no heartbeat
