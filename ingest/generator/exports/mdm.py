"""MDM: the identity mapping between the source systems' ids."""

from __future__ import annotations

from ingest.generator import reference as ref
from ingest.generator.exports.common import SNAPSHOT_HOUR
from ingest.generator.exports.toggl import toggl_user_id
from ingest.generator.firm import DAY
from ingest.generator.state import World, contract_id
from ingest.generator.writers import (
    Landing,
    csv_bytes,
    iso,
)

MDM_HEADER = (
    "source_system",
    "entity",
    "source_id",
    "target_system",
    "target_id",
    "maintained_by",
    "updated_at",
)


def identity_mapping_rows(w: World) -> list[tuple[str, ...]]:
    """Mappings for every record that lacks its explicit cross-system key."""
    firm = w.firm
    wk, p, a = firm.workers, firm.projects, firm.accounts
    base = firm.start_day * DAY
    rows = []
    for i in wk.index[(wk["psa_email"] != wk["email"])]:
        rows.append(
            (
                "harvest",
                "user",
                str(int(wk.at[i, "harvest_user_id"])),
                "hris",
                wk.at[i, "employee_id"],
                "hr-ops@d2b.example",
                iso(max(base, int(wk.at[i, "hire_day"]) * DAY) + 40000),
            )
        )
    # Toggl's API rows name a person by user id only (no e-mail): every Toggl user is mapped.
    toggl_le = [k for k, le in enumerate(ref.LEGAL_ENTITIES) if le.psa == "toggl"]
    for i in wk.index[wk["le"].isin(toggl_le)]:
        rows.append(
            (
                "toggl",
                "user",
                str(toggl_user_id(int(i))),
                "hris",
                wk.at[i, "employee_id"],
                "hr-ops@d2b.example",
                iso(max(base, int(wk.at[i, "hire_day"]) * DAY) + 40000),
            )
        )
    for j in p.index[p["code_missing_in_psa"]]:
        src = p.at[j, "psa"]
        sid = p.at[j, "harvest_project_id"] if src == "harvest" else p.at[j, "toggl_project_id"]
        rows.append(
            (
                src,
                "project",
                str(int(sid)),
                "salesforce",
                contract_id(j),
                "pmo@d2b.example",
                iso(int(p.at[j, "start_day"]) * DAY + 50000),
            )
        )
    for i in a.index[~a["erp_has_external_id"]]:
        rows.append(
            (
                "erp",
                "customer",
                str(int(a.at[i, "erp_customer_id"])),
                "salesforce",
                a.at[i, "account_id"],
                "finance-mdm@d2b.example",
                iso(int(a.at[i, "created_day"]) * DAY + 60000),
            )
        )
    for i in a.index[a["concur_uses_legacy_code"]]:
        rows.append(
            (
                "concur",
                "client",
                a.at[i, "legacy_code"],
                "salesforce",
                a.at[i, "account_id"],
                "finance-mdm@d2b.example",
                iso(int(a.at[i, "created_day"]) * DAY + 61000),
            )
        )
    return rows


def write_mdm(w: World, landing: Landing) -> None:
    """The maintained identity mapping (a landed source, not a dbt seed)."""
    rows = identity_mapping_rows(w)
    landing.write(
        "mdm",
        "identity_mappings",
        "identity_mappings.csv",
        [csv_bytes(MDM_HEADER, rows)],
        len(rows),
        w.end_ts + SNAPSHOT_HOUR,
    )
