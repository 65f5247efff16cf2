"""The thread-aware warnings recorder: each thread records its own warnings, every one, and the process's
warnings state is as before once the last recording ends."""

import threading
import warnings

from advalidate.threadwarnings import recording


def _warn_n(text, n, barrier=None):
    for i in range(n):
        if barrier is not None:
            barrier.wait()
        warnings.warn(f"{text}", RuntimeWarning)  # same line every time: recorded every time


def test_each_thread_records_its_own_warnings_while_another_records():
    barrier = threading.Barrier(2)
    got = {}

    def worker(name):
        with recording() as caught:
            _warn_n(name, 5, barrier)
        got[name] = [str(w.message) for w in caught]

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == {"a": ["a"] * 5, "b": ["b"] * 5}


def test_state_restored_and_nesting_passes_warnings_out():
    before_show, before_filters = warnings.showwarning, list(warnings.filters)
    with recording() as outer:
        warnings.warn("outer", UserWarning)
        with recording() as inner:
            warnings.warn("inner", UserWarning)
    assert [str(w.message) for w in inner] == ["inner"]
    assert [str(w.message) for w in outer] == ["outer", "inner"]
    assert warnings.showwarning is before_show and warnings.filters == before_filters


def test_a_thread_not_recording_is_not_recorded():
    started, release = threading.Event(), threading.Event()
    seen = []

    def recorder():
        with recording() as caught:
            started.set()
            release.wait(10)
        seen.extend(caught)

    t = threading.Thread(target=recorder)
    t.start()
    started.wait(10)
    with warnings.catch_warnings(record=True) as mine:  # this thread's own, as the process shows it
        warnings.simplefilter("always")
        warnings.warn("main", UserWarning)
    release.set()
    t.join()
    assert seen == [] and [str(w.message) for w in mine] == ["main"]
