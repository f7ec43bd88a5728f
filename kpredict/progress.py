"""One progress display per long stage (rich), the same for every pipeline.

``progress_bar(description, total)`` yields ``advance(steps)``. The bar is transient: when the
stage ends it disappears and the caller prints one line saying what finished. Every bar draws on
one console, so a stage inside a stage joins the display already on screen (rich 14 and later nest
them; with an older rich only the outer bar is drawn). When the output is not a terminal nothing is
drawn and ``advance`` does nothing, so scheduler logs get no bar fragments.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["progress_bar", "progress_console"]


@functools.cache
def progress_console() -> Any:
    """The one console (stderr) every progress display of the process draws on."""
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A transient rich progress bar for ``total`` steps; yields ``advance(steps)``."""
    from rich.errors import LiveError
    from rich.progress import Progress

    console = progress_console()
    if not console.is_terminal:
        yield lambda steps: None
        return
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
