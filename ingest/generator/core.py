"""``generate()``: build a firm, write its landing zone and its ground truth."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import orjson
from tqdm import tqdm

from ingest.generator import activity as act
from ingest.generator import defects as dfx
from ingest.generator.billing import build_invoices
from ingest.generator.defects import DefectRates
from ingest.generator.expenses import build_expenses, build_fx
from ingest.generator.exports import write_all
from ingest.generator.firm import DAY, build_firm
from ingest.generator.state import World
from ingest.generator.truth import write_truth
from ingest.generator.writers import FileRecord, Landing, iso

GENERATOR_VERSION = "1.0.0"
STEPS = 11  # progress steps (stages) of a generation


@dataclass
class GenerationResult:
    """What a generation wrote."""

    out_dir: Path
    truth_dir: Path
    files: int
    rows_by_entity: dict[str, int]
    defects_by_reason: dict[str, int] = field(default_factory=dict)
    file_defects: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def summary_lines(self) -> list[str]:
        """Human-readable summary for the CLI."""
        lines = [
            f"landing zone: {self.out_dir} ({self.files} files)",
            f"ground truth: {self.truth_dir}",
        ]
        lines += [f"  {entity}: {n:,} rows" for entity, n in sorted(self.rows_by_entity.items())]
        planted = sum(self.defects_by_reason.values())
        lines.append(
            f"planted defects: {planted:,} records over {len(self.defects_by_reason)} reasons, "
            f"{len(self.file_defects)} files"
        )
        lines.append(f"generated in {self.seconds:.1f} s")
        return lines


def generate(
    out_dir: Path,
    *,
    scale: float = 0.02,
    seed: int = 42,
    as_of: date,
    truth_dir: Path | None = None,
    defect_rates: DefectRates | None = None,
    progress: bool = True,
) -> GenerationResult:
    """Generate a coherent synthetic firm into the landing zone ``out_dir``.

    The history covers the 12 months ending at ``as_of``. The ground truth goes to
    ``truth_dir`` (default ``out_dir.parent / "ground_truth"``), which must lie outside the
    landing zone. Output depends only on the arguments: the same arguments give byte-identical
    files. Both directories must be empty or absent (a landing zone is never mixed).
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    truth_dir = Path(truth_dir) if truth_dir is not None else out_dir.parent / "ground_truth"
    rates = defect_rates or DefectRates()
    if scale <= 0:
        raise ValueError("scale must be positive")
    if truth_dir.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"truth_dir {truth_dir} must not be inside the landing zone {out_dir}")
    for d in (out_dir, truth_dir):
        if d.exists() and any(d.iterdir()):
            raise FileExistsError(f"{d} is not empty; generate into an empty directory")

    bar = tqdm(total=STEPS, desc="d2b generate", unit="step", file=sys.stderr, disable=not progress)

    def tick(label: str) -> None:
        bar.set_postfix_str(label)
        bar.update(1)

    firm = build_firm(seed, scale, as_of)
    e = act.build_entries(firm)
    rc = act.build_rate_cards(firm, e)
    e.rate = act.resolve_rates(firm, e, rc)
    e.psa_rate = e.rate.copy()
    tick("firm and time entries")
    e = dfx.plant_entry_defects(firm, e, rc, rates)
    act.assign_created(firm, e)
    dfx.plant_future_dated(firm, e, rates)
    act.approval_flow(firm, e)
    _assign_ids(e)
    firm.contract_defects = dfx.contract_defects(firm)
    end_ts = (firm.end_day + 1) * DAY
    final = act.state_at(e, end_ts - 1)
    tick("approvals and defects")
    fx = build_fx(firm)
    ex = build_expenses(firm, e, fx, rates)
    inv = build_invoices(firm, e, final, ex, fx)
    _contract_amounts(firm, e)
    tick("expenses and invoices")
    world = World(firm, e, rc, fx, ex, inv, act.export_windows(firm), final, rates)

    landing = Landing(out_dir)
    write_all(world, landing, tick)
    file_defects = plant_file_defects(world, landing)
    tick("file-level defects")
    truth_counts = write_truth(world, truth_dir, file_defects)
    rows_by_entity: dict[str, int] = {}
    for f in landing.files:
        if f.path in {d["path"] for d in file_defects if d["kind"] in ("malformed", "duplicate")}:
            continue
        key = f"{f.system}/{f.entity}"
        rows_by_entity[key] = rows_by_entity.get(key, 0) + f.rows
    by_reason: dict[str, int] = {}
    for r in dfx.REASONS:
        by_reason[r] = 0
    for reason in e.reason[e.reason > 0]:
        by_reason[dfx.REASONS[reason - 1]] += 1
    for _, reason in firm.contract_defects:
        by_reason[reason] += 1
    for reason in ex.lines["reason"][ex.lines["reason"] > 0]:
        by_reason[dfx.REASONS[int(reason) - 1]] += 1
    _write_manifest(
        world, landing, truth_dir, file_defects, by_reason, truth_counts, seed, scale, rates
    )
    tick("ground truth")
    bar.close()
    return GenerationResult(
        out_dir=out_dir,
        truth_dir=truth_dir,
        files=len(landing.files),
        rows_by_entity=rows_by_entity,
        defects_by_reason=by_reason,
        file_defects=file_defects,
        seconds=time.perf_counter() - t0,
    )


def _assign_ids(e: act.Entries) -> None:
    """PSA ids increase with creation time, as both Harvest and Toggl allocate them."""
    ids = np.zeros(len(e), np.int64)
    for src, base, step in ((act.HARVEST, 2_400_000_000, 2), (act.TOGGL, 3_600_000_000, 5)):
        idx = np.nonzero(e.src == src)[0]
        order = idx[np.lexsort((idx, e.created[idx]))]
        ids[order] = base + np.arange(len(order), dtype=np.int64) * step
    e.entry_id = ids


def _contract_amounts(firm, e: act.Entries) -> None:
    """Set contract fee fields.

    Fixed fee = value of the work at card rates, rounded; retainer = its monthly average.
    """
    p = firm.projects
    value = np.bincount(
        e.project, weights=e.hours_q.astype(np.int64) * e.rate / 4, minlength=len(p)
    )
    firm.fixed_fee, firm.retainer_fee = {}, {}
    for j in p.index[p["kind"] == "client"]:
        months = max(1.0, (p.at[j, "end_day"] - p.at[j, "start_day"]) / 30.44)
        if p.at[j, "billing_method"] == "fixed_fee":
            firm.fixed_fee[int(j)] = int(max(1000, round(value[j] * 1.05, -3)))
        elif p.at[j, "billing_method"] == "retainer":
            firm.retainer_fee[int(j)] = int(max(100, round(value[j] / months, -2)))


def plant_file_defects(w: World, landing: Landing) -> list[dict]:
    """Plant the file-level defects.

    A duplicate file, a late-arriving file, a malformed (truncated) file and a file with an
    unexpected extra column.
    """
    rates = w.rates
    out: list[dict] = []
    files = landing.files
    root = landing.root
    if rates.duplicate_file:
        sae = [f for f in files if f.system == "concur"]
        src = sae[len(sae) // 2]
        name = Path(src.path).name
        ts = name.rsplit("_", 1)[1].split(".")[0]
        new_name = name.replace(ts, ts[:8] + "23" + ts[10:])  # re-delivered at 23:00
        data = (root / src.path).read_bytes()
        rec = landing.write(
            "concur",
            "expenses",
            new_name,
            [data],
            src.rows,
            _ts(src.delivered_at) + 7200,
            src.defect_rows,
        )
        out.append(
            {
                "path": rec.path,
                "kind": "duplicate",
                "expected_outcome": "skipped: same SHA-256 as an already loaded file",
                "detail": f"byte-identical copy of {src.path}",
            }
        )
    harvest = [f for f in files if f.system == "harvest" and f.entity == "time_entries"]
    windows = sorted({Path(f.path).name.split("_page_")[0] for f in harvest})
    mid = windows[len(windows) // 2]
    if rates.late_file:
        late = next(f for f in harvest if Path(f.path).name.startswith(mid))
        nxt = windows[windows.index(mid) + 1]
        nxt_file = next(f for f in harvest if Path(f.path).name.startswith(nxt))
        late.delivered_at = iso(_ts(nxt_file.delivered_at) + 26 * 3600)
        out.append(
            {
                "path": late.path,
                "kind": "late_arriving",
                "expected_outcome": "loaded; where its entries changed again later, the version "
                "with the latest updated_at wins",
                "detail": f"delivered after {nxt_file.path} (see delivered_at in the manifest)",
            }
        )
    if rates.malformed_file:
        src = next(
            f for f in harvest if Path(f.path).name.startswith(windows[len(windows) // 2 - 1])
        )
        data = (root / src.path).read_bytes()
        cut = data[: len(data) * 3 // 5]
        name = Path(src.path).name.replace(".json", "_partial.json")
        rec = landing.write("harvest", "time_entries", name, [cut], 0, _ts(src.delivered_at) - 600)
        out.append(
            {
                "path": rec.path,
                "kind": "malformed",
                "expected_outcome": "rejected: cannot be parsed (truncated JSON)",
                "detail": f"interrupted first delivery of {src.path}, re-delivered complete",
            }
        )
    if rates.extra_column_file:
        extra = [f for f in files if f.entity == "invoice_lines"]
        for f in extra:
            with open(root / f.path, encoding="utf-8") as fh:
                if fh.readline().rstrip("\n").endswith("custcol_legacy_memo"):
                    out.append(
                        {
                            "path": f.path,
                            "kind": "extra_column",
                            "expected_outcome": "loaded; the unexpected column custcol_legacy_memo "
                            "is ignored (reported as schema drift), every row kept",
                            "detail": "one monthly export carries an extra trailing column",
                        }
                    )
    return out


def _ts(s: str) -> int:
    return int(np.datetime64(s.rstrip("Z"), "s").astype(np.int64))


def _write_manifest(
    w: World,
    landing: Landing,
    truth_dir: Path,
    file_defects: list[dict],
    by_reason: dict[str, int],
    truth_counts: dict[str, int],
    seed: int,
    scale: float,
    rates: DefectRates,
) -> None:
    outcome = {d["path"]: d for d in file_defects}

    def entry(f: FileRecord) -> dict:
        d = outcome.get(f.path)
        return {
            "path": f.path,
            "system": f.system,
            "entity": f.entity,
            "rows": f.rows,
            "bytes": f.bytes,
            "sha256": f.sha256,
            "delivered_at": f.delivered_at,
            "expected_outcome": (
                "reject_file"
                if d and d["kind"] == "malformed"
                else "skip_duplicate"
                if d and d["kind"] == "duplicate"
                else "load"
            ),
            "expected_rejected_rows": 0,
            "rows_with_planted_defects": f.defect_rows,
        }

    manifest = {
        "generator_version": GENERATOR_VERSION,
        "params": {
            "seed": seed,
            "scale": scale,
            "as_of": w.firm.as_of.isoformat(),
            "history_start": w.firm.start.isoformat(),
            "defect_rates": rates.as_dict(),
        },
        "files": [entry(f) for f in sorted(landing.files, key=lambda f: f.path)],
        "record_defects_by_reason": by_reason,
        "file_defects": file_defects,
        "truth_files": dict(sorted(truth_counts.items())),
    }
    (truth_dir / "manifest.json").write_bytes(
        orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n"
    )
