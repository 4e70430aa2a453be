"""Processes and signals: whether a process is still running (for leftovers of a killed process
and orphaned workers), and holding Ctrl-C and SIGTERM over a step that must not be cut in two."""

from __future__ import annotations

import contextlib
import os
import signal
import threading


def alive(pid: int) -> bool:
    """``pid`` runs on this host (a zombie, dead but not yet reaped, does not count)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a dead process not yet reaped (a zombie) still answers kill(pid, 0)
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return True


@contextlib.contextmanager
def interrupts_deferred():
    """Ctrl-C and SIGTERM wait until the block is over (a pool's workers are starting, an earlier
    result is set aside); a second one acts at once (a step that hangs can still be stopped).

    A worker interrupted half-started is not yet in the pool's list, so stop_pool cannot end it;
    it lives on after the main process and fails alone, with a traceback, reading a semaphore the
    main process has removed (a forkserver's first workers wait ~2 s for its imports). Deferred,
    the signal lands once every worker is listed, and stop_pool ends them all. It lands even if
    the block fails.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    pending: list[int] = []
    before: dict[int, object] = {}

    def defer(signum, _frame):
        pending.append(signum)
        if len(pending) > 1:  # asked again: stop now
            _restore(before)
            _act(before[signum], signum)

    try:
        for s in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(s) is not None:  # None: set outside Python, and could not be put back
                before[s] = signal.signal(s, defer)
        yield
    finally:
        _restore(before)
        if len(pending) == 1:
            _act(before[pending[0]], pending[0])


def _restore(handlers: dict) -> None:
    for s, handler in handlers.items():
        signal.signal(s, handler)


def _act(handler, signum: int) -> None:
    """Do what the handler in place before would have done with the signal."""
    if callable(handler):
        handler(signum, None)  # the command's own handler: KeyboardInterrupt
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), signum)
