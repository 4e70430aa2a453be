"""sim.processes: whether a process runs, and Ctrl-C and SIGTERM held over a step."""

import os
import signal
import time

import pytest

from sim import processes


# ------------------------------------------------------------- signals while a pool's workers start
def _handler_that_stops(log):
    def handler(signum, _frame):
        log.append(signum)
        raise KeyboardInterrupt

    return handler


@pytest.fixture
def sigterm_handler():
    log = []
    before = signal.signal(signal.SIGTERM, _handler_that_stops(log))
    yield log
    signal.signal(signal.SIGTERM, before)


def test_a_signal_while_workers_start_lands_when_they_have_started(sigterm_handler):
    started = []
    with pytest.raises(KeyboardInterrupt):
        with processes.interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # a signal is handled between bytecodes: it has been by now
            started.append("all")
    assert started == ["all"] and sigterm_handler == [signal.SIGTERM]  # the command's handler, once
    assert signal.getsignal(signal.SIGTERM).__name__ == "handler"  # put back


def test_a_second_signal_stops_at_once(sigterm_handler):
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with processes.interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            reached.append("after the second")
    assert reached == [] and sigterm_handler == [signal.SIGTERM]


def test_a_deferred_signal_lands_even_if_the_start_fails(sigterm_handler):
    with pytest.raises(KeyboardInterrupt) as stopped:
        with processes.interrupts_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            raise OSError("a worker could not start")
    assert isinstance(stopped.value.__context__, OSError)


def test_without_a_signal_nothing_changes(sigterm_handler):
    with processes.interrupts_deferred():
        pass
    assert sigterm_handler == [] and signal.getsignal(signal.SIGINT) is signal.default_int_handler
