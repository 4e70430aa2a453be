"""Opening a file that anyone may have put in place, without waiting and within a limit.

A named pipe opened the usual way blocks until something writes to it, and a device such as
/dev/zero (or a sparse file of gigabytes) never ends or fills memory. Every reader of a user's
file or of a results folder opens it here: without waiting, and reading at most its limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

NOT_REGULAR = "not a regular file (a named pipe, device or folder)"


class TooLarge(ValueError):
    def __init__(self, max_bytes: int, what: str):
        super().__init__(f"larger than {max_bytes:,} bytes, the limit for {what}")


def opened(path: str | Path) -> tuple[BinaryIO, int]:
    """The file, open for reading without waiting on a pipe's writer, and its mode (``st_mode``).
    OSError is the caller's: it knows how to name the file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    f = os.fdopen(fd, "rb")
    try:
        return f, os.fstat(fd).st_mode
    except BaseException:
        f.close()
        raise


def read_within(f: BinaryIO, max_bytes: int, what: str) -> bytes:
    """What is left of ``f``, at most ``max_bytes`` (TooLarge beyond that: a file growing while it
    is read is held to the limit too)."""
    data = f.read(max_bytes + 1)
    if data is not None and len(data) > max_bytes:
        raise TooLarge(max_bytes, what)
    return data


def read_regular(path: str | Path, max_bytes: int, what: str) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``. OSError if it cannot be opened or is
    not a regular file (a named pipe, a device, a folder); TooLarge if it is larger."""
    f, mode = opened(path)
    with f:
        check_regular(path, mode)
        return read_within(f, max_bytes, what)


def check_regular(path: str | Path, mode: int | None = None) -> None:
    """OSError unless ``path`` (whose ``st_mode`` is ``mode``, if known) is a regular file."""
    if not stat.S_ISREG(os.stat(path).st_mode if mode is None else mode):
        raise OSError(NOT_REGULAR)
