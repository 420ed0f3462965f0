"""The embedded server's pid file: stale ones are cleared, live ones are respected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from service.store.embedded import remove_stale_pid_file


def test_a_pid_file_naming_a_dead_process_is_removed(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid now names nobody
    pid_file = tmp_path / "nx.pid"
    pid_file.write_text(str(child.pid))
    assert remove_stale_pid_file(pid_file)
    assert not pid_file.exists()


def test_a_pid_file_naming_a_zombie_is_removed(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped: a zombie
    pid_file = tmp_path / "nx.pid"
    pid_file.write_text(str(child.pid))
    try:
        os.kill(child.pid, 0)  # the zombie still answers signal 0, which is what fooled nx-27017
        assert remove_stale_pid_file(pid_file)
        assert not pid_file.exists()
    finally:
        child.wait()


def test_a_pid_file_naming_a_live_process_is_kept(tmp_path: Path) -> None:
    pid_file = tmp_path / "nx.pid"
    pid_file.write_text(str(os.getpid()))
    assert not remove_stale_pid_file(pid_file)
    assert pid_file.exists()


def test_an_unreadable_pid_file_is_removed_and_a_missing_one_is_fine(tmp_path: Path) -> None:
    garbage = tmp_path / "nx.pid"
    garbage.write_text("not a pid")
    assert remove_stale_pid_file(garbage)
    assert not garbage.exists()
    assert not remove_stale_pid_file(tmp_path / "absent.pid")
