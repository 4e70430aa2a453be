import signal
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    """A one-node SLURM cluster (tests/slurm_cluster.py) for a test module; skipped, with the
    reason, where its packages are missing. The daemons are stopped by PID at the end."""
    from slurm_cluster import start_cluster, unavailable

    if unavailable():
        pytest.skip(unavailable())
    t0 = time.monotonic()
    c = start_cluster(tmp_path_factory.mktemp("slurm"))
    print(f"\nSLURM cluster up in {time.monotonic() - t0:.1f} s")
    yield c
    c.stop()
    assert all(p.poll() is not None for p in c.procs.values())


def _fail_after(seconds: int):
    """Fails the test that has not finished in ``seconds`` (a read waiting on a pipe, a walk that
    never ends) with TimeoutError, rather than letting it hang the suite."""

    def stop(*_):
        raise TimeoutError(f"did not end within {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def within_10_s():
    yield from _fail_after(10)


@pytest.fixture
def within_20_s():
    yield from _fail_after(20)
