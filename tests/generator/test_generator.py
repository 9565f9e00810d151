from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest

from ingest.config import read_csv
from ingest.generator import REASONS, DefectRates, GenerationResult, generate
from ingest.generator import reference as ref
from ingest.sources.concur import DETAIL_FIELD_COUNT, sae_position

from .conftest import AS_OF, SEED
from .landing_reader import harvest_list, resolved_rates, validate

TIME_ENTRY_REASONS = {
    "unknown_project",
    "closed_project",
    "task_not_on_project",
    "resource_not_assigned",
    "missing_rate",
    "rate_mismatch",
    "duplicate_entry",
    "future_dated",
    "over_daily_limit",
    "expired_contract",
}


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def all_outputs(result: GenerationResult) -> dict[str, str]:
    out = {f"landing/{k}": v for k, v in digests(result.out_dir).items()}
    out.update({f"truth/{k}": v for k, v in digests(result.truth_dir).items()})
    return out


# --- determinism ---


def test_same_arguments_give_identical_bytes(sample: GenerationResult, tmp_path: Path) -> None:
    again = generate(tmp_path / "landing", seed=SEED, as_of=AS_OF, progress=False)
    assert all_outputs(again) == all_outputs(sample)


def test_another_seed_gives_another_firm(sample: GenerationResult, tmp_path: Path) -> None:
    other = generate(tmp_path / "landing", seed=SEED + 1, as_of=AS_OF, progress=False)
    a, b = all_outputs(sample), all_outputs(other)
    changed = [k for k in a if a[k] != b.get(k)]
    # Fixed reference data is seed-independent; the firm itself is not.
    assert any(k.startswith("landing/harvest/time_entries/") for k in changed)
    assert a["truth/defects_records.csv"] != b["truth/defects_records.csv"]


def test_refuses_a_non_empty_landing_or_truth_inside_landing(tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir()
    (tmp_path / "landing" / "old.csv").write_text("x")
    with pytest.raises(FileExistsError):
        generate(tmp_path / "landing", as_of=AS_OF, progress=False)
    with pytest.raises(ValueError, match="inside the landing"):
        generate(tmp_path / "l2", truth_dir=tmp_path / "l2" / "truth", as_of=AS_OF, progress=False)


# --- layout and parsing ---


def test_truth_is_next_to_the_landing_zone(sample: GenerationResult) -> None:
    assert sample.truth_dir == sample.out_dir.parent / "ground_truth"
    assert not any(sample.out_dir.rglob("manifest.json"))
    systems = {p.name for p in sample.out_dir.iterdir()}
    assert systems == {"harvest", "toggl", "concur", "salesforce", "hris", "erp", "mdm", "config"}


def test_manifest_lists_every_file_with_its_hash_and_rows(sample: GenerationResult) -> None:
    manifest = json.loads((sample.truth_dir / "manifest.json").read_text())
    files = {f["path"]: f for f in manifest["files"]}
    on_disk = digests(sample.out_dir)
    assert set(files) == set(on_disk)
    for path, f in files.items():
        assert f["sha256"] == on_disk[path]
        assert f["bytes"] == (sample.out_dir / path).stat().st_size
    assert manifest["params"] == {
        "seed": SEED,
        "scale": 0.02,
        "as_of": AS_OF.isoformat(),
        "history_start": "2024-07-01",
        "defect_rates": DefectRates().as_dict(),
    }
    assert sample.files == len(on_disk)


def _parse(path: Path) -> int:
    """Parse a landed file with standard tools; return its record count."""
    if path.suffix == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, list):
            return len(doc)
        key = next(iter(doc))
        assert doc["page"] >= 1 and doc["per_page"] == 2000
        return len(doc[key])
    if path.suffix == ".txt":
        lines = path.read_text(encoding="utf-8").splitlines()
        head = lines[0].split("|")
        assert head[0] == "EXTRACT" and int(head[2]) == len(lines) - 1
        details = [line.split("|") for line in lines[1:]]
        assert all(len(d) == DETAIL_FIELD_COUNT and d[0] == "DETAIL" for d in details)
        total = sum(Decimal(d[sae_position("journal_amount") - 1]) for d in details)
        assert Decimal(head[3]) == total
        return len(details)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert all(len(r) == len(rows[0]) for r in rows)
    n = duckdb.sql(
        f"select count(*) from read_csv('{path}', header=true, all_varchar=true)"
    ).fetchall()[0][0]
    assert n == len(rows) - 1
    return n


def test_every_file_parses_except_the_malformed_one(sample: GenerationResult) -> None:
    manifest = json.loads((sample.truth_dir / "manifest.json").read_text())
    failures = []
    for f in manifest["files"]:
        try:
            rows = _parse(sample.out_dir / f["path"])
        except (ValueError, AssertionError, duckdb.Error):
            failures.append(f["path"])
            continue
        assert rows == f["rows"], f["path"]
    malformed = [d["path"] for d in manifest["file_defects"] if d["kind"] == "malformed"]
    assert failures == malformed and len(malformed) == 1


def test_file_level_defects(sample: GenerationResult) -> None:
    manifest = json.loads((sample.truth_dir / "manifest.json").read_text())
    files = {f["path"]: f for f in manifest["files"]}
    kinds = {d["kind"]: d for d in manifest["file_defects"]}
    assert set(kinds) == {"duplicate", "late_arriving", "malformed", "extra_column"}
    dup = kinds["duplicate"]
    original = dup["detail"].removeprefix("byte-identical copy of ")
    assert dup["path"] != original and files[dup["path"]]["sha256"] == files[original]["sha256"]
    late = files[kinds["late_arriving"]["path"]]
    later_windows = [
        f
        for p, f in files.items()
        if p.startswith("harvest/time_entries/") and p > late["path"] and "_partial" not in p
    ]
    assert any(f["delivered_at"] < late["delivered_at"] for f in later_windows)
    header = (sample.out_dir / kinds["extra_column"]["path"]).read_text().splitlines()[0]
    assert header.endswith(",custcol_legacy_memo")
    assert files[kinds["malformed"]["path"]]["expected_outcome"] == "reject_file"
    assert files[dup["path"]]["expected_outcome"] == "skip_duplicate"


def test_harvest_pages_follow_the_api_v2_list_shape(sample: GenerationResult) -> None:
    pages = sorted((sample.out_dir / "harvest" / "time_entries").glob("*_page_*.json"))
    pages = [p for p in pages if "_partial" not in p.name]
    by_window: dict[str, list[dict]] = {}
    for p in pages:
        doc = json.loads(p.read_text())
        by_window.setdefault(p.name.split("_page_")[0], []).append(doc)
    for docs in by_window.values():
        total = docs[0]["total_entries"]
        assert sum(len(d["time_entries"]) for d in docs) == total
        assert [d["page"] for d in docs] == list(range(1, docs[0]["total_pages"] + 1))
        for d in docs:
            assert d["next_page"] == (d["page"] + 1 if d["page"] < d["total_pages"] else None)
            assert d["previous_page"] == (d["page"] - 1 if d["page"] > 1 else None)
            assert set(d["links"]) == {"first", "next", "previous", "last"}
    entry = json.loads(pages[-1].read_text())["time_entries"][0]
    for key in (
        "id",
        "spent_date",
        "hours",
        "user",
        "client",
        "project",
        "task",
        "user_assignment",
        "task_assignment",
        "approval_status",
        "submitted_at",
        "approved_at",
        "updated_at",
    ):
        assert key in entry


def test_reexported_entries_move_forward_in_time(
    sample: GenerationResult, rejected_files: set[str]
) -> None:
    seen: dict[int, list[tuple[str, str, str]]] = {}
    for p in sorted((sample.out_dir / "harvest" / "time_entries").glob("*.json")):
        if p.relative_to(sample.out_dir).as_posix() in rejected_files:
            continue
        for t in json.loads(p.read_text())["time_entries"]:
            seen.setdefault(t["id"], []).append((p.name, t["updated_at"], t["approval_status"]))
    multi = [v for v in seen.values() if len(v) > 1]
    assert multi, "some entries change state across export windows"
    for versions in multi:
        assert [u for _, u, _ in versions] == sorted(u for _, u, _ in versions)
        assert len({u for _, u, _ in versions}) == len(versions)
    statuses = Counter(v[-1][2] for v in seen.values())
    assert statuses["approved"] > 0.9 * len(seen) and statuses["submitted"] > 0
    assert any(s == "rejected" for v in seen.values() for _, _, s in v)


#: The detailed report's stock header as Toggl Track exports it (Reports -> Detailed -> Export
#: CSV), then the workspace-currency amount and the integration's approval-audit extras.
TOGGL_STOCK_HEADER = [
    "User",
    "Email",
    "Client",
    "Project",
    "Task",
    "Description",
    "Billable",
    "Start date",
    "Start time",
    "End date",
    "End time",
    "Duration",
    "Tags",
    "Amount (EUR)",
]
TOGGL_EXTRAS = ["Time entry ID", "Approval status", "Submitted at", "Approved at", "Updated at"]


def test_toggl_entries_arrive_in_both_layouts_toggl_ships(sample: GenerationResult) -> None:
    folder = sample.out_dir / "toggl" / "time_entries"
    csv_versions: dict[str, list[tuple[str, str]]] = {}
    for f in sorted(folder.glob("*.csv")):
        with open(f, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            assert reader.fieldnames == TOGGL_STOCK_HEADER + TOGGL_EXTRAS, f.name
            for r in reader:
                csv_versions.setdefault(r["Time entry ID"], []).append(
                    (r["Updated at"], r["Approval status"])
                )
    api_rows = [t for f in sorted(folder.glob("*.json")) for t in json.loads(f.read_text())]
    assert csv_versions and api_rows
    # the CSV carries the approval audit: only versions whose timesheet was submitted
    assert all(s != "unsubmitted" for v in csv_versions.values() for _, s in v)

    mappings = read_csv(next((sample.out_dir / "mdm" / "identity_mappings").glob("*.csv")))
    toggl_users = {
        m["source_id"]: m["target_id"] for m in mappings if m["source_system"] == "toggl"
    }
    workers = read_csv(next((sample.out_dir / "hris" / "workers").glob("*.csv")))
    entity = {w["employee_id"]: w["legal_entity"] for w in workers}
    zone = ZoneInfo("Europe/Amsterdam")
    first_starts: dict[bool, time] = {}
    for t in api_rows:
        # the API's shape with meta=true, no approval data, stopped entries in UTC
        assert {"approval_status", "Approval status", "submitted_at"}.isdisjoint(t)
        assert t["server_deleted_at"] is None and t["project_name"] and t["task_name"]
        start, stop = datetime.fromisoformat(t["start"]), datetime.fromisoformat(t["stop"])
        assert start.utcoffset() == timedelta(0)
        assert (stop - start).total_seconds() == t["duration"] > 0
        # people by Toggl user id only, each mapped to an NL01 worker
        assert entity[toggl_users[str(t["user_id"])]] == "NL01"
        # days start at 09:00 local time: read in the workspace's zone, summer and winter
        local = start.astimezone(zone)
        summer = bool(local.dst())
        first_starts[summer] = min(first_starts.get(summer, time.max), local.time())
    assert first_starts == {True: time(9), False: time(9)}

    # one id space: an entry's unsubmitted version is an API row, its later ones CSV rows
    api_at = {str(t["id"]): t["at"] for t in api_rows}
    both = [i for i in api_at if i in csv_versions]
    assert both and all(api_at[i] < min(u for u, _ in csv_versions[i]) for i in both)
    assert len(both) < len(api_at), "entries unsubmitted at the as-of date are API rows only"


# --- planted defects ---


def test_every_reason_is_planted_at_its_configured_rate(
    sample: GenerationResult, truth_records: set, landing_data
) -> None:
    rates = DefectRates()
    counts = Counter(r[3] for r in truth_records)
    assert set(counts) == set(REASONS)
    e = landing_data.entries
    n_entries, n_harvest = len(e), int((e["source"] == "harvest").sum())
    harvest_only = {"task_not_on_project", "resource_not_assigned", "rate_mismatch", "future_dated"}
    for reason in TIME_ENTRY_REASONS - {"over_daily_limit"}:
        base = n_harvest if reason in harvest_only else n_entries
        expected = rates.count(reason, base)
        assert abs(counts[reason] - expected) <= max(2, 0.1 * expected), reason
    # over_daily_limit flags every entry of a worker-day: count the days.
    flagged = {r[2] for r in truth_records if r[3] == "over_daily_limit"}
    days = e[e["id"].isin(flagged)].groupby(["employee_id", "spent_date"]).ngroups
    n_days = e.groupby(["employee_id", "spent_date"]).ngroups
    assert days == rates.count("over_daily_limit", n_days)
    n_contracts = len(landing_data.contracts)
    for reason in ("currency_mismatch", "missing_legal_entity"):
        assert counts[reason] == rates.count(reason, n_contracts)
    n_exp = len(landing_data.expenses)
    allocated = int((landing_data.expenses["allocation_client"] != "").sum())
    assert counts["missing_receipt"] == rates.count("missing_receipt", n_exp)
    assert counts["over_policy_limit"] == rates.count("over_policy_limit", n_exp)
    assert counts["unmatched_client"] == rates.count("unmatched_client", allocated)


def test_rules_applied_to_the_files_find_exactly_the_planted_defects(
    truth_records: set, landing_data
) -> None:
    """Precision = recall = 1: the documented predicates, evaluated on the files by an
    independent reader, flag every planted record and nothing else."""
    found = validate(landing_data)
    missed = truth_records - found
    extra = found - truth_records
    assert not missed, sorted(missed)[:10]
    assert not extra, sorted(extra)[:10]


def test_defect_rates_are_configurable(sample: GenerationResult, tmp_path: Path) -> None:
    rates = DefectRates(
        duplicate_entry=0.004, missing_receipt=0.0, min_per_reason=1, malformed_file=False
    )
    res = generate(tmp_path / "landing", as_of=AS_OF, defect_rates=rates, progress=False)
    assert res.defects_by_reason["missing_receipt"] == 1
    # Four times the default rate on the same firm: about four times the duplicates.
    assert (
        res.defects_by_reason["duplicate_entry"] >= 3 * sample.defects_by_reason["duplicate_entry"]
    )
    assert "malformed" not in {d["kind"] for d in res.file_defects}


# --- ground truth against the files ---


def _posted_sources(data) -> set[str]:
    released = set(data.invoices.loc[data.invoices["released_date"] != "", "internal_id"])
    lines = data.invoice_lines[data.invoice_lines["invoice_internal_id"].isin(released)]
    return {s for ids in lines["custcol_psa_source_ids"] for s in ids.split(";")}


def test_unbilled_wip_recomputed_from_the_files_matches_the_truth(
    sample: GenerationResult, truth_records: set, landing_data
) -> None:
    e = landing_data.entries.copy()
    e["rate"] = resolved_rates(landing_data)
    excepted = {(s, i) for s, ent, i, _ in truth_records if ent == "time_entries"}
    posted = _posted_sources(landing_data)
    e["ref"] = e["source"] + ":" + e["id"]
    wip = e[
        (e["status"] == "approved")
        & e["billable"]
        & ~pd_isin_pairs(e, excepted)
        & ~e["ref"].isin(posted)
    ]
    code = wip["code"].where(
        wip["code"].notna(),
        wip["contract_id"].map(
            dict(
                zip(
                    landing_data.contracts["Id"],
                    landing_data.contracts["PSA_Project_Code__c"],
                    strict=True,
                )
            )
        ),
    )
    got: dict[str, tuple[Decimal, Decimal]] = {}
    for c, h, r in zip(code, wip["hours"], wip["rate"], strict=True):
        hh, vv = got.get(c, (Decimal(0), Decimal(0)))
        got[c] = (hh + h, vv + h * r)
    with open(sample.truth_dir / "unbilled_wip.csv", newline="") as fh:
        truth = {r["project_code"]: r for r in csv.DictReader(fh)}
    assert set(got) == set(truth)
    for c, (h, v) in got.items():
        assert Decimal(truth[c]["unbilled_hours"]) == h, c
        assert Decimal(truth[c]["unbilled_value"]) == v.quantize(Decimal("0.01")), c
        buckets = sum(Decimal(truth[c][k]) for k in truth[c] if k.startswith("hours_"))
        assert buckets == h


def pd_isin_pairs(e, pairs: set[tuple[str, str]]):
    return e.apply(lambda r: (r["source"], r["id"]) in pairs, axis=1)


def test_funnel_recomputed_from_the_files_matches_the_truth(
    sample: GenerationResult, landing_data
) -> None:
    e = landing_data.entries
    posted = _posted_sources(landing_data)
    with open(sample.truth_dir / "funnel_hours.csv", newline="") as fh:
        truth = list(csv.DictReader(fh))
    total = lambda col: sum(Decimal(r[col]) for r in truth)  # noqa: E731
    assert total("delivered_hours") == sum(e["hours"])
    assert total("approved_hours") == sum(e.loc[e["status"] == "approved", "hours"])
    invoiced = e[(e["source"] + ":" + e["id"]).isin(posted)]
    assert total("invoiced_hours") == sum(invoiced["hours"])
    for r in truth:
        assert (
            Decimal(r["delivered_hours"])
            >= Decimal(r["approved_hours"])
            >= Decimal(r["billable_hours"])
        )
        assert (
            Decimal(r["billable_hours"]) >= Decimal(r["invoiced_hours"]) >= Decimal(r["paid_hours"])
        )


def test_expense_posting_lags_match_the_files(sample: GenerationResult, landing_data) -> None:
    postings = {}
    for f in (sample.out_dir / "erp" / "expense_postings").glob("*.csv"):
        with open(f, newline="") as fh:
            for r in csv.DictReader(fh):
                postings[r["concur_entry_id"]] = r["posted_date"]
    approved = dict(
        zip(
            landing_data.expenses["report_entry_id"],
            landing_data.expenses["report_approved_at"],
            strict=True,
        )
    )
    with open(sample.truth_dir / "expense_posting_lags.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["concur_entry_id"] for r in rows} == set(approved)
    for r in rows:
        assert r["approved_at"] == approved[r["concur_entry_id"]]
        assert r["posted_date"] == postings.get(r["concur_entry_id"], "")
        if r["posted_date"]:
            lag = date.fromisoformat(r["posted_date"]) - date.fromisoformat(r["approved_at"][:10])
            assert int(r["lag_days"]) == lag.days >= 0


def test_invoice_release_delays_are_consistent(sample: GenerationResult, landing_data) -> None:
    inv = landing_data.invoices.set_index("internal_id")
    with open(sample.truth_dir / "invoice_release_delays.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["internal_id"] for r in rows} == set(inv.index[inv["released_date"] != ""])
    for r in rows:
        assert inv.at[r["internal_id"], "released_date"] == r["released_date"]
        delay = date.fromisoformat(r["released_date"]) - date.fromisoformat(r["ready_date"])
        assert int(r["delay_days"]) == delay.days >= 0


# --- coherence of the firm ---


def test_firm_shape(sample: GenerationResult, landing_data) -> None:
    w = landing_data.workers
    assert 100 <= len(w) <= 125
    assert set(w["region"]) == {"NA", "EU", "APAC"}
    assert len(set(w["legal_entity"])) >= 5
    assert len(set(landing_data.contracts["CurrencyIsoCode"])) >= 4
    assert (w["employment_type"] == "part_time").any() and (w["termination_date"] != "").any()
    assert (w["hire_date"] > "2024-07-01").any()
    methods = set(landing_data.contracts["Billing_Method__c"])
    assert methods == {"time_and_materials", "fixed_fee", "retainer", "milestone"}
    rc = landing_data.rate_cards
    assert (rc["Effective_To__c"] != "").any(), "mid-contract rate changes"
    e = landing_data.entries
    assert 1.8 < len(e) / e.groupby(["employee_id", "spent_date"]).ngroups < 2.6
    assert (~e["billable"]).any() and e["billable"].mean() > 0.6
    holidays = read_csv(next((sample.out_dir / "hris" / "holidays").glob("*.csv")))
    hol = {(h["region"], h["holiday_date"]) for h in holidays}
    region = dict(zip(w["employee_id"], w["region"], strict=True))
    on_holiday = [
        (region[x], d) in hol for x, d in zip(e["employee_id"], e["spent_date"], strict=True)
    ]
    assert sum(on_holiday) <= len(e) * 0.001  # only planted after-the-fact entries, if any
    assert all(len(a["Id"]) == 18 for a in landing_data.accounts.to_dict("records"))
    assert harvest_list(sample.out_dir, "users")


def test_cross_system_keys_resolve(landing_data) -> None:
    e = landing_data.entries
    assert e["employee_id"].notna().all(), "every PSA user resolves to an HR worker"
    m = landing_data.mappings
    assert set(m["source_system"]) >= {"harvest", "erp", "concur"}
    ext = landing_data.invoices["customer_external_id"]
    mapped = set(m.loc[(m["source_system"] == "erp") & (m["entity"] == "customer"), "source_id"])
    lacking = landing_data.invoices.loc[ext == "", "entity_id"]
    assert set(lacking) <= mapped
    assert set(ext[ext != ""]) <= set(landing_data.accounts["Id"])


def test_config_files_match_the_reference_data(sample: GenerationResult) -> None:
    def landed(entity: str) -> list[dict[str, str]]:
        (path,) = (Path(sample.out_dir) / "config" / entity).glob("*.csv")
        return read_csv(path)

    assert landed("tax_rules") == ref.tax_rule_rows()
    assert landed("expense_policy") == ref.expense_policy_rows()
    assert [e["legal_entity"] for e in landed("legal_entities")] == list(ref.LE_INDEX)
    thresholds = {r["threshold"]: int(r["value"]) for r in landed("sla_thresholds")}
    assert thresholds["daily_hours_limit"] == 16
    assert thresholds["sla_expense_posting_business_days"] == 10
    # the tenant map reads Concur's published positions
    published = {
        "constant": 1,
        "report_id": 19,
        "report_key": 20,
        "report_entry_id": 61,
        "report_entry_project": 92,
        "journal_debit_or_credit": 168,
        "journal_amount": 169,
        "journal_key": 170,
        "allocation_key": 189,
        "allocation_percentage": 190,
    }
    assert {c: sae_position(c) for c in published} == published


def test_progress_bar_writes_to_stderr_only_when_asked(tmp_path: Path, capsys) -> None:
    generate(tmp_path / "a" / "landing", as_of=date(2025, 3, 31), scale=0.015, progress=True)
    err = capsys.readouterr().err
    assert "d2b generate" in err
    generate(tmp_path / "b" / "landing", as_of=date(2025, 3, 31), scale=0.015, progress=False)
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_larger_firm_keeps_rules_exact(tmp_path: Path) -> None:
    from .landing_reader import load

    res = generate(
        tmp_path / "landing", scale=0.1, seed=7, as_of=date(2025, 12, 31), progress=False
    )
    with open(res.truth_dir / "defects_records.csv", newline="") as fh:
        truth = {
            (r["system"], r["entity"], r["source_id"], r["reason"]) for r in csv.DictReader(fh)
        }
    skip = {d["path"] for d in res.file_defects if d["kind"] in ("malformed", "duplicate")}
    assert validate(load(res.out_dir, skip)) == truth
