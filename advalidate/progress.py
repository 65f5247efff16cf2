"""What the user sees while a campaign runs, and how it stops: the progress display and SIGTERM handling."""

from __future__ import annotations

import _thread
import sys
import threading

__all__ = ["progress_display", "Termination", "TERM_GRACE_S"]


def progress_display():
    """(update(done, total, findings), stop): a rich progress bar on a terminal, a line per tenth otherwise."""
    if sys.stdout.isatty():
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(TextColumn("[bold]checking"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[findings]} findings"), TimeElapsedColumn())
        task = progress.add_task("run", total=None, findings=0)
        progress.start()

        def update(done, total, findings):
            progress.update(task, completed=done, total=total, findings=findings)

        return update, progress.stop
    state = {"last": -1}

    def plain(done, total, findings):
        step = max(total // 10, 1)
        if done // step != state["last"] or done == total:
            state["last"] = done // step
            print(f"checked {done}/{total} examples, {findings} findings", flush=True)

    return plain, lambda: None


TERM_GRACE_S = 5.0  # seconds SIGTERM waits for the campaign to reach its next example before interrupting at once


class Termination:
    """SIGTERM stops the campaign at its next example, where Hypothesis unwinds cleanly: an exception raised by the
    signal handler itself can land inside Hypothesis's own bookkeeping (seen as an AssertionError in
    ``wrapped_test`` and exit 1 instead of 130, when SIGTERM came as a new round of the campaign started). A
    second SIGTERM, or ``TERM_GRACE_S`` seconds without a next example (a long shrink, a hung backend that is not
    isolated), interrupts at once, as before."""

    def __init__(self):
        self.requested = False
        self._timer = None

    def handler(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt(f"signal {signum}")
        self.requested = True
        self._timer = threading.Timer(TERM_GRACE_S, _thread.interrupt_main)
        self._timer.daemon = True
        self._timer.start()

    def check(self):
        if self.requested:
            self.cancel()
            raise KeyboardInterrupt("SIGTERM")

    def cancel(self):
        if self._timer is not None:
            self._timer.cancel()
