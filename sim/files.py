"""Opening a file that anyone may have put in place, without waiting and within a limit.

A named pipe opened the usual way blocks until something writes to it, and a device such as
/dev/zero (or a sparse file of gigabytes) never ends or fills memory. Scenario, district,
experiment and observed files (and, for a results folder made before manifests kept their notes,
the scenario files it names), and what streetsim reads whole from a results folder (manifests,
report.json, resolved scenarios) are opened here: without waiting, and read within a limit.
(Tables are checked to be regular files here, then read by pandas and pyarrow.)
"""

from __future__ import annotations

import errno
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
    OSError is the caller's: it knows how to name the file (IsADirectoryError for a folder, whose
    descriptor is closed here: Python's file object refuses it and left it open)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        return os.fdopen(fd, "rb"), mode
    except BaseException:
        os.close(fd)
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
    try:
        f, mode = opened(path)
    except IsADirectoryError:
        raise OSError(NOT_REGULAR) from None
    with f:
        check_regular(path, mode)
        return read_within(f, max_bytes, what)


def check_regular(path: str | Path, mode: int | None = None) -> None:
    """OSError unless ``path`` (whose ``st_mode`` is ``mode``, if known) is a regular file."""
    if not stat.S_ISREG(os.stat(path).st_mode if mode is None else mode):
        raise OSError(NOT_REGULAR)
