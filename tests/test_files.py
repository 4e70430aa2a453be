"""sim.files: opening a file without waiting, reading it within a limit."""

from __future__ import annotations

import os

import pytest

from sim import files


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_folder_is_refused_and_its_descriptor_closed(tmp_path):
    """Python's file object refuses a folder's descriptor and left it open: one leaked per read."""
    before = _open_descriptors()
    for _ in range(5):
        with pytest.raises(IsADirectoryError):
            files.opened(tmp_path)
        with pytest.raises(OSError, match="not a regular file"):
            files.read_regular(tmp_path, 100, "tests")
    assert _open_descriptors() == before


def test_a_named_pipe_nobody_writes_to_is_not_waited_on(tmp_path, within_20_s):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(OSError, match="not a regular file"):
        files.read_regular(tmp_path / "pipe", 100, "tests")


def test_a_file_is_read_within_its_limit(tmp_path):
    (tmp_path / "f").write_bytes(b"x" * 101)
    assert files.read_regular(tmp_path / "f", 101, "tests") == b"x" * 101
    with pytest.raises(files.TooLarge, match="larger than 100 bytes, the limit for tests"):
        files.read_regular(tmp_path / "f", 100, "tests")
    with pytest.raises(files.TooLarge):  # /dev/zero never ends: read up to the limit, then refused
        with open("/dev/zero", "rb") as f:
            files.read_within(f, 1000, "tests")
