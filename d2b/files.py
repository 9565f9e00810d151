"""Files d2b writes: private to the user, and written whole or not at all.

Everything d2b creates holds billing data, so its processes set :data:`PRIVATE_UMASK` first.
A file that must appear whole is written under a partial name, then renamed: the partial name
carries the writer's process id (:func:`partial_path`), so a leftover of a writer that was
killed is told apart from a write under way, and :func:`remove_orphaned_partials` cleans it at
the next start without waiting for a lock.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: Files 0600, directories 0700.
PRIVATE_UMASK = 0o077
#: What a partial name ends with: ``.<pid>.partial`` (a database copy may add -wal, -shm or
#: -journal when its writer was killed).
_PARTIAL = re.compile(r"\.(?P<pid>\d+)\.partial(?:-wal|-shm|-journal)?$")


def partial_path(target: Path) -> Path:
    """The hidden name this process writes ``target`` under before renaming it into place."""
    return target.with_name(f".{target.name}.{os.getpid()}.partial")


def remove_orphaned_partials(directory: Path, pattern: re.Pattern[str] = _PARTIAL) -> list[Path]:
    """Delete the partial files in ``directory`` whose writer process is gone; return them.

    ``pattern`` finds a partial file's writer: a match with a ``pid`` group (by default the
    names :func:`partial_path` gives). A file whose writer still runs is kept.
    """
    removed = []
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        found = pattern.search(path.name)
        if found is None or not path.is_file():
            continue
        try:
            written_at = path.stat().st_mtime
        except FileNotFoundError:
            continue  # renamed into place meanwhile
        if process_alive(int(found["pid"]), written_at):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def process_alive(pid: int, seen_at: float) -> bool:
    """Whether process ``pid`` exists and already ran at ``seen_at`` (epoch seconds).

    A zombie is dead. A process started after ``seen_at`` reuses the PID of a dead one
    (Linux tells its start time; elsewhere a live PID counts as alive, so a live writer's
    work is never taken for a leftover).
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    state = _linux_process_state(pid)
    if state is None:
        return True
    status, started_at = state
    # /proc's start time is in clock ticks: allow a second of rounding.
    return status != "Z" and started_at <= seen_at + 1.0


def _linux_process_state(pid: int) -> tuple[str, float] | None:
    """(state letter, start time in epoch seconds) from /proc, or None where there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    state, start_ticks = fields[0], int(fields[19])  # fields 3 and 22 of proc(5)
    boot_time = next(int(line.split()[1]) for line in boot.splitlines() if line.startswith("btime"))
    return state, boot_time + start_ticks / os.sysconf("SC_CLK_TCK")
