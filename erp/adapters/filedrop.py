"""File-drop adapter: one ERP journal-import CSV per billing batch, for ERPs without an API.

Layout under the drop root (``D2B_ERP_FILEDROP_DIR``, default ``$D2B_HOME/erp/filedrop``)::

    <root>/<batch_key>.csv               written by this adapter: waiting for the ERP import
    <root>/acknowledged/<batch_key>.csv  moved there by the ERP import once it has booked it
    <root>/.partial/.<batch_key>.csv.<pid>.partial  a file being written (never picked up)

A file is written whole to ``.partial/``, flushed to disk, then renamed into the root with
:func:`os.replace`, which is atomic on one file system: the ERP (and :meth:`read_invoices`)
sees either no file or the complete file, never half of one, whatever kills the writer. The
file's name is its batch key, so "does the ERP hold this key?" is "does the file exist, in
the root or in ``acknowledged/``?": :meth:`FileDropAdapter.create_if_absent` writes only the
files that do not exist yet and adopts the others (``created=False``).

File format (UTF-8, comma separated, RFC 4180 quoting, CRLF line ends, numbers with a dot
and no thousands separator, dates ISO 8601); field by field in ``docs/erp.md``:

- line 1, the control record: ``CONTROL``, the format id (:data:`FORMAT`), line count,
  total quantity, total amount (untaxed), expected tax, batch key, currency;
- line 2, the column names of the journal lines (:data:`COLUMNS`);
- one line per invoice line, each repeating the document reference (the batch key) and the
  customer, contract, dates and currency of the invoice, as journal imports expect.

Read back parses the files again and recomputes every total from the lines, like an ERP
import does: a file whose control record does not tie with its lines, or that cannot be
parsed, is reported in state ``invalid`` and the reconciliation flags its batch. State is
``draft`` for a file still waiting in the root, ``posted`` once acknowledged. The ERP
computes tax on import; this adapter cannot read that back, so the tax read back is the
expected tax the file carries (the Tryton adapter's is Tryton's own).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from d2b.files import partial_path, remove_orphaned_partials
from erp.adapters.base import (
    INVALID_STATE,
    BusinessErpError,
    CreateResult,
    ErpAdapter,
    ErpDocument,
    ErpInvoice,
    ErpInvoiceLine,
    ErpInvoiceStatus,
    TransientErpError,
    payment_term_days,
)
from erp.model import HOURLY_KINDS, BillingBatch

logger = logging.getLogger(__name__)

#: Format id in every control record; bump when the columns change.
FORMAT = "d2b-journal/2"
#: The previous format (no ``correlation_ids`` column): files written before it still read.
FORMAT_V1 = "d2b-journal/1"
#: First field of the control record.
CONTROL = "CONTROL"
#: Column names of the journal lines, in file order (line 2 of every file).
COLUMNS = (
    "document_ref",
    "line_number",
    "line_key",
    "customer_code",
    "customer_name",
    "contract_ref",
    "legal_entity",
    "period",
    "invoice_date",
    "payment_terms",
    "currency",
    "product_code",
    "description",
    "quantity",
    "uom",
    "unit_price",
    "amount",
    "tax_code",
    "tax_amount",
    "correlation_ids",
)
#: Columns of a :data:`FORMAT_V1` file.
COLUMNS_V1 = COLUMNS[:-1]
#: Sub-folder the ERP import moves a file to once it has booked it (state ``posted``).
ACKNOWLEDGED = "acknowledged"
#: Sub-folder files are written in before they are renamed into the drop root.
PARTIAL = ".partial"
DRAFT_STATE = "draft"
POSTED_STATE = "posted"

# Batch keys are "b_" + hex; anything else (a path, a dot file) never names a file here.
_KEY = re.compile(r"^b_\w+$")
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def product_code(kind: str, category: str) -> str:
    """ERP product code of a line: ``D2B-<KIND>-<CATEGORY>``, as the Tryton adapter uses."""
    return f"D2B-{kind}-{category}".upper()


def _text(value: Decimal) -> str:
    # Plain positional notation: str() would write 1E+2 for some normalised values.
    return format(value, "f")


#: Largest magnitude read back: the warehouse keeps amounts as DECIMAL(18, 4).
_MAX_NUMBER = Decimal(10) ** 14


def _number(text: str) -> Decimal:
    """A number from a file; InvalidOperation unless finite and within the warehouse's range."""
    value = Decimal(text)
    if not value.is_finite() or abs(value) >= _MAX_NUMBER:
        raise InvalidOperation(text)
    return value


@dataclass(frozen=True)
class ParsedFile:
    """One file as read back: the invoice, and why it is invalid (empty when valid)."""

    invoice: ErpInvoice
    problems: tuple[str, ...]
    #: The payment terms of the file's first line (``NET30``...), None when it has no line.
    payment_terms: str | None = None


class FileDropAdapter(ErpAdapter):
    """Billing batches as journal-import CSV files in a drop folder; see the module docstring.

    ``tax_codes`` and ``currencies``, when given, are the codes the receiving ERP is
    configured with: a batch using another one is refused (a business error, so the batch is
    dead-lettered instead of being rejected later by the ERP import). None accepts any.
    """

    name = "filedrop"

    def __init__(
        self,
        root: Path,
        *,
        tax_codes: Collection[str] | None = None,
        currencies: Collection[str] | None = None,
    ) -> None:
        self.root = Path(root)
        self.tax_codes = None if tax_codes is None else frozenset(tax_codes)
        self.currencies = None if currencies is None else frozenset(currencies)

    @property
    def acknowledged(self) -> Path:
        """Folder the ERP import moves booked files to."""
        return self.root / ACKNOWLEDGED

    # -- lookup -------------------------------------------------------------------------

    def _locate(self, batch_key: str) -> list[tuple[Path, str]]:
        """Files carrying ``batch_key``, with their state: drop root first, then acknowledged.

        The ERP import only ever moves files from the root to ``acknowledged/``. Looking in
        that order, a file moved meanwhile is found in ``acknowledged/`` (and, if it was seen
        in the root too, the root is checked again so a move is not taken for a duplicate).
        """
        if not _KEY.match(batch_key):
            return []
        name = f"{batch_key}.csv"
        pending, acked = self.root / name, self.acknowledged / name
        in_root = pending.is_file()
        in_ack = acked.is_file()
        if in_root and in_ack:
            in_root = pending.is_file()
        found = []
        if in_root:
            found.append((pending, DRAFT_STATE))
        if in_ack:
            found.append((acked, POSTED_STATE))
        return found

    def find_by_keys(self, batch_keys: Sequence[str]) -> dict[str, list[ErpDocument]]:
        """Files named after each batch key, in the drop root or ``acknowledged/``."""
        found: dict[str, list[ErpDocument]] = {}
        try:
            for key in dict.fromkeys(batch_keys):
                docs = [
                    ErpDocument(key, path.name, None, state) for path, state in self._locate(key)
                ]
                if docs:
                    found[key] = docs
        except OSError as exc:
            raise TransientErpError(f"drop folder {self.root} unreadable: {exc}") from exc
        return found

    def document_path(self, batch_key: str) -> Path | None:
        """Where the file of ``batch_key`` is now (first one if duplicated), or None."""
        found = self._locate(batch_key)
        return found[0][0] if found else None

    # -- create -------------------------------------------------------------------------

    def create_if_absent(self, batches: Sequence[BillingBatch]) -> list[CreateResult]:
        """Write one file per batch whose key has no file yet; adopt the existing ones.

        An I/O error (folder missing or unwritable, disk full) raises
        :class:`TransientErpError`: the files written before it stay and are adopted by the
        next attempt's lookup.
        """
        existing = self.find_by_keys([b.batch_key for b in batches])
        results: dict[str, CreateResult] = {}
        wrote = False
        try:
            remove_orphaned_partials(self.root / PARTIAL)  # left by killed writers
            for batch in batches:
                key = batch.batch_key
                if key in results:
                    continue
                if key in existing:
                    results[key] = CreateResult(key, existing[key][0].document_id, False)
                    continue
                try:
                    content = self.render(batch)
                except BusinessErpError as exc:
                    exc.batch_key = key
                    results[key] = CreateResult(key, error=exc)
                    continue
                self._write_atomically(f"{key}.csv", content)
                wrote = True
                results[key] = CreateResult(key, f"{key}.csv", True)
            if wrote:
                _fsync_directory(self.root)
        except OSError as exc:
            raise TransientErpError(f"cannot write to drop folder {self.root}: {exc}") from exc
        return [results[b.batch_key] for b in batches]

    def _write_atomically(self, name: str, content: bytes) -> None:
        """Write ``content`` to ``.partial/``, flush it to disk, then rename it into the root.

        The temporary name carries this process's id: the next write removes a temporary
        file whose writer was killed (:func:`d2b.files.remove_orphaned_partials`).
        """
        partial_dir = self.root / PARTIAL
        partial_dir.mkdir(parents=True, exist_ok=True)
        partial = partial_path(partial_dir / name)
        with open(partial, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, self.root / name)

    def check(self, batch: BillingBatch) -> None:
        """Refuse what the ERP import would refuse: a business error, before any write."""
        if self.currencies is not None and batch.currency not in self.currencies:
            raise BusinessErpError(f"Currency {batch.currency!r} is not configured in the ERP")
        if self.tax_codes is not None:
            missing = sorted({ln.tax_code for ln in batch.lines} - self.tax_codes)
            if missing:
                raise BusinessErpError(f"No ERP tax for tax code(s) {', '.join(missing)}")
        texts = {
            "customer code": batch.client_ref,
            "customer name": batch.client_name,
            "contract": batch.contract_ref,
            "legal entity": batch.legal_entity,
            "payment terms": batch.payment_terms,
        }
        for number, line in enumerate(batch.lines, start=1):
            texts[f"line {number} description"] = line.description
            texts[f"line {number} category"] = line.category
            texts[f"line {number} tax code"] = line.tax_code
        bad = [field for field, value in texts.items() if _CONTROL_CHARS.search(value)]
        if bad:
            raise BusinessErpError(
                "The journal import is line based: control characters (line breaks, tabs) "
                f"in {', '.join(bad)}"
            )

    def render(self, batch: BillingBatch) -> bytes:
        """The journal-import file of ``batch`` (checked with :meth:`check` first)."""
        self.check(batch)
        totals = batch.control_totals()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(
            [
                CONTROL,
                FORMAT,
                totals.line_count,
                _text(totals.quantity),
                _text(totals.amount),
                _text(totals.tax_amount),
                batch.batch_key,
                batch.currency,
            ]
        )
        writer.writerow(COLUMNS)
        for number, line in enumerate(batch.lines, start=1):
            writer.writerow(
                [
                    batch.batch_key,
                    number,
                    line.line_key,
                    batch.client_ref,
                    batch.client_name,
                    batch.contract_ref,
                    batch.legal_entity,
                    batch.period,
                    batch.invoice_date.isoformat(),
                    batch.payment_terms,
                    batch.currency,
                    product_code(line.kind, line.category),
                    line.description,
                    _text(line.quantity),
                    "HOUR" if line.kind in HOURLY_KINDS else "UNIT",
                    _text(line.unit_price),
                    _text(line.amount(batch.currency)),
                    line.tax_code,
                    _text(line.tax_amount),
                    " ".join(line.correlation_ids),
                ]
            )
        return buffer.getvalue().encode("utf-8")

    # -- read back ----------------------------------------------------------------------

    def read_invoices(self, batch_keys: Iterable[str] | None = None) -> list[ErpInvoice]:
        """Parse the files of ``batch_keys`` (every batch file when None), totals from lines."""
        try:
            if batch_keys is None:
                names = {
                    path.stem
                    for folder in (self.root, self.acknowledged)
                    if folder.is_dir()
                    for path in folder.glob("b_*.csv")
                }
                keys: Iterable[str] = sorted(names)
            else:
                keys = dict.fromkeys(batch_keys)
            invoices = []
            for key in keys:
                for path, state in self._locate(key):
                    parsed = self._read(path, state)
                    if parsed is None:
                        continue
                    if parsed.problems:
                        logger.warning(
                            "ERP file %s is invalid: %s", path, "; ".join(parsed.problems)
                        )
                    invoices.append(parsed.invoice)
        except OSError as exc:
            raise TransientErpError(f"drop folder {self.root} unreadable: {exc}") from exc
        return invoices

    def _read(self, path: Path, state: str) -> ParsedFile | None:
        """Parse one file; follow it to ``acknowledged/`` if the ERP moved it meanwhile."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if state != DRAFT_STATE:
                return None
            path, state = self.acknowledged / path.name, POSTED_STATE
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                return None
        return parse(data, document_id=path.name, state=state)

    def read_statuses(self, batch_keys: Iterable[str]) -> list[ErpInvoiceStatus]:
        """State and due date of the files of ``batch_keys``; payments are unknown (None).

        A drop folder has no channel back for payments: the state is ``draft`` (waiting) or
        ``posted`` (acknowledged by the import), never ``paid``, so every acknowledged file
        is read again each day. The due date is the invoice date plus the days of the
        file's payment terms.
        """
        statuses = []
        try:
            for key in dict.fromkeys(batch_keys):
                for path, state in self._locate(key):
                    parsed = self._read(path, state)
                    if parsed is None:
                        continue
                    invoice = parsed.invoice
                    days = payment_term_days(parsed.payment_terms or "")
                    statuses.append(
                        ErpInvoiceStatus(
                            document_id=invoice.document_id,
                            batch_key=invoice.batch_key,
                            state=invoice.state,
                            currency=invoice.currency,
                            total_amount=invoice.total_amount,
                            due_date=(
                                invoice.invoice_date + timedelta(days=days)
                                if invoice.invoice_date and days is not None
                                else None
                            ),
                        )
                    )
        except OSError as exc:
            raise TransientErpError(f"drop folder {self.root} unreadable: {exc}") from exc
        return statuses

    def post(self, document_ids: Sequence[str], acknowledge: Iterable[str] = ()) -> None:
        """Not possible here: the ERP posts a file when it imports it (then ``posted``)."""
        if document_ids:
            raise BusinessErpError(
                "A file-drop ERP posts invoices when its journal import books the file "
                f"(moved to {ACKNOWLEDGED}/); there is no API to post them from here"
            )


def parse(data: bytes, document_id: str, state: str = DRAFT_STATE) -> ParsedFile:
    """Parse one journal-import file into an invoice, recomputing its totals from its lines.

    Never raises on bad content: a file that cannot be parsed, or whose control record does
    not tie with its lines, comes back in state ``invalid`` with the reasons.
    """
    problems: list[str] = []
    fallback_key = document_id.removesuffix(".csv")
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        rows = []
        problems.append(f"unreadable: {exc}")
    control = rows[0] if rows else []
    if len(control) != 8 or control[0] != CONTROL or control[1] not in (FORMAT, FORMAT_V1):
        problems.append(f"no {FORMAT} control record on line 1")
        control = [CONTROL, FORMAT, "", "", "", "", fallback_key, ""]
    columns = COLUMNS_V1 if control[1] == FORMAT_V1 else COLUMNS
    if len(rows) < 2 or tuple(rows[1]) != columns:
        problems.append("line 2 is not the column header")
    batch_key, currency = control[6], control[7]

    lines: list[ErpInvoiceLine] = []
    taxes: list[Decimal] = []
    header: dict[str, str] = {}
    for number, row in enumerate(rows[2:], start=3):
        if len(row) != len(columns):
            problems.append(f"line {number} has {len(row)} fields, not {len(columns)}")
            continue
        record = dict(zip(columns, row, strict=True))
        if record["document_ref"] != batch_key or record["currency"] != currency:
            problems.append(
                f"line {number} belongs to {record['document_ref']} in {record['currency']}"
            )
        for field in ("customer_code", "invoice_date"):
            if header.setdefault(field, record[field]) != record[field]:
                problems.append(f"line {number}: {field} differs from line 3")
        try:
            line = ErpInvoiceLine(
                line_id=f"{document_id}#{record['line_number']}",
                line_key=record["line_key"] or None,
                description=record["description"],
                product_code=record["product_code"] or None,
                quantity=_number(record["quantity"]),
                unit_price=_number(record["unit_price"]),
                amount=_number(record["amount"]),
                tax_codes=(record["tax_code"],) if record["tax_code"] else (),
                correlation_ids=tuple(record.get("correlation_ids", "").split()),
            )
            tax = _number(record["tax_amount"])
        except InvalidOperation:
            problems.append(f"line {number} has a malformed number")
            continue
        lines.append(line)
        taxes.append(tax)
    untaxed = sum((ln.amount for ln in lines), Decimal(0))
    tax_total = sum(taxes, Decimal(0))
    quantity = sum((ln.quantity for ln in lines), Decimal(0))
    actual = (len(lines), quantity, untaxed, tax_total)
    try:
        expected = (int(control[2]), *(_number(value) for value in control[3:6]))
    except (ValueError, InvalidOperation):
        problems.append("control record totals are missing or malformed")
    else:
        if expected != actual:
            problems.append(
                "control record (lines, quantity, amount, tax) "
                f"{tuple(map(str, expected))} does not tie with the lines {tuple(map(str, actual))}"
            )
    invoice_date = None
    if header.get("invoice_date"):
        try:
            invoice_date = date.fromisoformat(header["invoice_date"])
        except ValueError:
            problems.append(f"invoice date {header['invoice_date']!r} is not ISO 8601")
    invoice = ErpInvoice(
        document_id=document_id,
        batch_key=batch_key or fallback_key,
        number=None,
        state=INVALID_STATE if problems else state,
        party_code=header.get("customer_code"),
        currency=currency,
        invoice_date=invoice_date,
        accounting_date=None,
        untaxed_amount=untaxed,
        tax_amount=tax_total,
        total_amount=untaxed + tax_total,
        lines=tuple(lines),
    )
    terms = rows[2][columns.index("payment_terms")] if len(rows) > 2 and header else None
    return ParsedFile(invoice, tuple(problems), terms or None)


def _fsync_directory(directory: Path) -> None:
    """Make the renames in ``directory`` durable (POSIX; elsewhere the rename is enough)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
