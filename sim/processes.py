"""Whether a process is still running (for leftovers of a killed process and orphaned workers)."""

from __future__ import annotations

import os


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
