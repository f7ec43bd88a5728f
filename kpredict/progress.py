"""One progress display per long stage, the same for every pipeline: a bar on a terminal, lines in a log.

``progress_bar(description, total)`` yields ``advance(steps)``.

- On a terminal the bar (rich) is transient: when the stage ends it disappears and the caller prints
  one line saying what finished. Every bar draws on one console, so a stage inside a stage joins the
  display already on screen (rich 14 and later nest them; with an older rich only the outer bar is
  drawn).
- Anywhere else (a scheduler's log, a pipe, a file) a bar would be either invisible or fragments.
  There each stage prints a plain line when it starts and when it ends, and a heartbeat thread
  prints the innermost running stage (done of total, elapsed) whenever no line has been written
  for ``HEARTBEAT_SECONDS``. So a log shows what a long run is doing, even inside a library call
  that reports no progress of its own.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HEARTBEAT_SECONDS", "note", "progress_bar", "progress_console"]

#: the longest a log goes without a progress line while a stage runs
HEARTBEAT_SECONDS = 30.0


@functools.cache
def progress_console() -> Any:
    """The one console (stderr) every progress display of the process draws on."""
    from rich.console import Console

    return Console(stderr=True)


def note(text: str) -> None:
    """One line the user sees whatever the log level (stderr, with the time): what kpredict inferred
    from their data or left out of it, which they would otherwise only find out by surprise."""
    progress_console().print(f"{time.strftime('%H:%M:%S')} {text}", markup=False, highlight=False, soft_wrap=True)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress display for ``total`` steps (None: unknown); yields ``advance(steps)``."""
    console = progress_console()
    if not console.is_terminal:
        with _LOG.stage(description, total) as advance:
            yield advance
        return
    from rich.errors import LiveError
    from rich.progress import Progress

    bar = Progress(console=console, transient=True)
    try:
        bar.start()
    except LiveError:  # rich < 14 cannot nest live displays: the outer stage's bar stays the only one
        yield lambda steps: None
        return
    try:
        task = bar.add_task(description, total=total)
        yield lambda steps: bar.update(task, advance=steps)
    finally:
        bar.stop()


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


@dataclass
class _Stage:
    description: str
    total: int | None
    started: float = field(default_factory=time.monotonic)
    done: int = 0

    def status(self) -> str:
        count = f"{self.done:,} of {self.total:,} done, " if self.total is not None else ""
        return f"{self.description}: {count}{_clock(time.monotonic() - self.started)} elapsed"


class _LogProgress:
    """Stages as plain lines: start, end, and a heartbeat line for the innermost stage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stages: list[_Stage] = []
        self._last_line = time.monotonic()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def _print(self, text: str) -> None:
        note(text)
        self._last_line = time.monotonic()

    @contextmanager
    def stage(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        stage = _Stage(description, total)
        with self._lock:
            self._stages.append(stage)
            self._print(f"{description}: started" + (f" ({total:,} steps)" if total is not None else ""))
            if self._thread is None or not self._thread.is_alive():
                self._wake.clear()
                self._thread = threading.Thread(target=self._beat, name="kpredict-progress", daemon=True)
                self._thread.start()

        def advance(steps: int) -> None:
            stage.done += steps

        try:
            yield advance
        finally:
            with self._lock:
                self._stages.remove(stage)
                self._print(f"{description}: finished in {_clock(time.monotonic() - stage.started)}")
                if not self._stages:
                    self._wake.set()

    def _beat(self) -> None:
        while True:
            with self._lock:
                if not self._stages:
                    self._thread = None
                    return
                due = self._last_line + HEARTBEAT_SECONDS - time.monotonic()
                if due <= 0:
                    self._print(self._stages[-1].status())
                    due = HEARTBEAT_SECONDS
            if self._wake.wait(min(due, HEARTBEAT_SECONDS)):
                self._wake.clear()


_LOG = _LogProgress()
