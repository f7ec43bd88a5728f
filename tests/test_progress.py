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
