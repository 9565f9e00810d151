"""The dashboards' access log: who signed in, which page, which filters, which downloads.

Insert-only JSON Lines beside the serving snapshots (``<serving>/access_log.jsonl``), so it
outlives the snapshots it describes (those are pruned) and a publish never touches it. Lines
are only ever appended (the file is opened in append mode, one ``write`` per event, under a
lock shared by the app's sessions); nothing in the product rewrites or deletes them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

ACCESS_LOG = "access_log.jsonl"
#: What the log records.
EVENTS = ("sign_in", "page", "download", "denied")
_LOCK = threading.Lock()


def append(
    serving_dir: Path,
    user: str,
    event: str,
    *,
    page: str | None = None,
    detail: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> None:
    """Append one event by ``user`` (``detail``: the filters, the file downloaded ...)."""
    if event not in EVENTS:
        raise ValueError(f"access log event must be one of {', '.join(EVENTS)}, not {event!r}")
    line = json.dumps(
        {
            "at": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
            "user": user,
            "event": event,
            "page": page,
            "detail": dict(detail or {}),
        },
        default=str,
        sort_keys=True,
    )
    serving_dir.mkdir(parents=True, exist_ok=True)
    with _LOCK, (serving_dir / ACCESS_LOG).open("a", encoding="utf-8") as log:
        log.write(line + "\n")


def read(serving_dir: Path, limit: int = 1000) -> pd.DataFrame:
    """The newest ``limit`` events, newest first (columns at, user, event, page, detail)."""
    path = serving_dir / ACCESS_LOG
    columns = ["at", "user", "event", "page", "detail"]
    if not path.is_file():
        return pd.DataFrame(columns=columns)
    lines = path.read_text(encoding="utf-8").splitlines()[-limit:]
    rows = [json.loads(line) for line in reversed(lines) if line.strip()]
    frame = pd.DataFrame(rows, columns=columns)
    frame["detail"] = frame["detail"].map(lambda d: json.dumps(d, sort_keys=True) if d else "")
    return frame
