"""Human-readable summary of the warehouse after a run: loads, rejections, headline figures.

``d2b run`` prints it; it reads the warehouse file, read-only.
"""

from __future__ import annotations

from pathlib import Path

from ingest.warehouse import connect

_TOP_PROJECTS = 10


def warehouse_summary(warehouse: Path) -> list[str]:
    """Lines describing what was loaded, what was rejected and the headline mart figures."""
    lines: list[str] = []
    with connect(warehouse, read_only=True) as con:
        files = con.execute(
            "SELECT status, count(*), sum(rows_loaded), sum(rows_rejected) "
            "FROM ops.landed_files GROUP BY status ORDER BY status"
        ).fetchall()
        lines.append("Landing zone (all loads so far):")
        for status, count, loaded, rejected in files:
            lines.append(
                f"  {status:<12} {count:>6} files  {loaded or 0:>10,} rows loaded"
                f"  {rejected or 0:>8,} rows rejected"
            )
        rejected_files = con.execute(
            "SELECT reason, count(*) FROM quarantine.rejected_files GROUP BY reason ORDER BY reason"
        ).fetchall()
        for reason, count in rejected_files:
            lines.append(f"  rejected file reason {reason}: {count}")
        row_reasons = con.execute(
            "SELECT reason, count(*) FROM quarantine.rejected_rows GROUP BY reason ORDER BY reason"
        ).fetchall()
        for reason, count in row_reasons:
            lines.append(f"  rejected row reason {reason}: {count}")

        (entries, hours) = con.execute(
            "SELECT count(*), coalesce(sum(hours), 0) FROM marts.fct_time_entries"
        ).fetchone()
        lines.append(f"Time entries (fct_time_entries): {entries:,} entries, {hours:,.2f} hours")

        totals = con.execute(
            "SELECT any_value(as_of_date), count(*), coalesce(sum(time_entry_count), 0), "
            "coalesce(sum(unbilled_approved_hours), 0), coalesce(sum(hours_aged_0_30), 0), "
            "coalesce(sum(hours_aged_31_60), 0), coalesce(sum(hours_aged_61_90), 0), "
            "coalesce(sum(hours_aged_91_120), 0), coalesce(sum(hours_aged_over_120), 0) "
            "FROM marts.unbilled_approved_hours"
        ).fetchone()
        as_of, projects, count, hours, *aging = totals
        lines.append(
            f"Unbilled approved hours as of {as_of}: {hours:,.2f} hours in {count:,} entries "
            f"on {projects:,} projects"
        )
        buckets = ("0-30", "31-60", "61-90", "91-120", ">120")
        lines.append(
            "  aged (days since approval): "
            + ", ".join(f"{b}: {h:,.2f}" for b, h in zip(buckets, aging, strict=True))
        )
        top = con.execute(
            "SELECT source_system, project_source_id, unbilled_approved_hours, time_entry_count "
            "FROM marts.unbilled_approved_hours "
            "ORDER BY unbilled_approved_hours DESC, project_source_id LIMIT ?",
            [_TOP_PROJECTS],
        ).fetchall()
        if top:
            lines.append(f"  top {len(top)} projects:")
            for system, project, project_hours, project_entries in top:
                lines.append(
                    f"    {system}:{project:<14} {project_hours:>12,.2f} h"
                    f"  ({project_entries:,} entries)"
                )
    return lines
