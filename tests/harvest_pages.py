"""Build Harvest API v2 time-entry pages for tests (the shape docs/sources.md describes)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Entry:
    """The fields of a time entry that tests vary; the rest get realistic defaults."""

    id: int
    spent_date: date
    hours: float
    project_id: int = 501
    user_id: int = 71
    task_id: int = 9
    billable: bool = True
    approval_status: str = "approved"
    submitted_at: datetime | None = None
    approved_at: datetime | None = None
    updated_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        """The entry as Harvest returns it."""
        created = datetime.combine(self.spent_date, datetime.min.time()).replace(hour=18)
        updated = self.updated_at or self.approved_at or self.submitted_at or created
        return {
            "id": self.id,
            "spent_date": self.spent_date.isoformat(),
            "hours": self.hours,
            "hours_without_timer": self.hours,
            "rounded_hours": self.hours,
            "notes": f"work item {self.id}",
            "is_locked": self.approval_status == "approved",
            "locked_reason": None,
            "is_closed": False,
            "is_billed": False,
            "timer_started_at": None,
            "started_time": None,
            "ended_time": None,
            "is_running": False,
            "billable": self.billable,
            "budgeted": True,
            "billable_rate": 150.0 if self.billable else None,
            "cost_rate": 80.0,
            "created_at": _ts(created),
            "updated_at": _ts(updated),
            "user": {"id": self.user_id, "name": f"Person {self.user_id}"},
            "client": {"id": 301, "name": "Client 301", "currency": "USD"},
            "project": {"id": self.project_id, "name": f"Project {self.project_id}", "code": "P1"},
            "task": {"id": self.task_id, "name": "Delivery"},
            "user_assignment": {"id": 1000 + self.user_id},
            "task_assignment": {"id": 2000 + self.task_id},
            "invoice": None,
            "external_reference": None,
            "approval_status": self.approval_status,
            "submitted_at": _ts(self.submitted_at),
            "approved_at": _ts(self.approved_at),
        }


def _ts(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def page(entries: list[dict[str, Any]], number: int = 1, total_pages: int = 1) -> dict[str, Any]:
    """Wrap entry objects in a Harvest list page."""
    return {
        "time_entries": entries,
        "per_page": 2000,
        "total_pages": total_pages,
        "total_entries": len(entries),
        "next_page": number + 1 if number < total_pages else None,
        "previous_page": number - 1 if number > 1 else None,
        "page": number,
        "links": {
            "first": "https://api.harvestapp.com/v2/time_entries?page=1&per_page=2000",
            "next": None,
            "previous": None,
            "last": f"https://api.harvestapp.com/v2/time_entries?page={total_pages}&per_page=2000",
        },
    }


def write_page(landing: Path, name: str, entries: list[Entry | dict[str, Any]]) -> Path:
    """Write a time-entries page into ``landing/harvest/time_entries/<name>``."""
    folder = landing / "harvest" / "time_entries"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    objects = [e.as_json() if isinstance(e, Entry) else e for e in entries]
    path.write_text(json.dumps(page(objects), indent=1))
    return path
