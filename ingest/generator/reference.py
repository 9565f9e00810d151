"""Fixed reference data of the synthetic firm: independent of seed and scale.

Legal entities, currencies, roles, tasks, expense policy and tax rules are the same for every
generated firm. The legal entities, tax rules and expense policy are the sample firm's
configuration, written into its landing zone as ``config/`` files
(:mod:`ingest.generator.exports.config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class LegalEntity:
    """A contracting and employing company of the firm."""

    code: str
    name: str
    region: str
    country: str
    currency: str
    psa: str  # which PSA its people log time in: "harvest" or "toggl"
    utc_offset_hours: int  # fixed offset used to place local working hours in UTC
    headcount_share: float
    email_domain: str


REGIONS: dict[str, str] = {"NA": "North America", "EU": "Europe", "APAC": "Asia Pacific"}

LEGAL_ENTITIES: tuple[LegalEntity, ...] = (
    LegalEntity(
        "US01", "D2B Consulting Inc.", "NA", "US", "USD", "harvest", -5, 0.32, "d2b.example"
    ),
    LegalEntity(
        "CA01", "D2B Consulting Canada Ltd.", "NA", "CA", "CAD", "harvest", -5, 0.08, "d2b.example"
    ),
    LegalEntity(
        "GB01", "D2B Consulting UK Ltd", "EU", "GB", "GBP", "harvest", 0, 0.16, "d2b.example"
    ),
    LegalEntity("DE01", "D2B Beratung GmbH", "EU", "DE", "EUR", "harvest", 1, 0.12, "d2b.example"),
    # The acquired subsidiary: still on its own PSA (Toggl Track).
    LegalEntity(
        "NL01", "Northwind Digital B.V.", "EU", "NL", "EUR", "toggl", 1, 0.12, "northwind.example"
    ),
    LegalEntity(
        "SG01", "D2B Consulting Pte. Ltd.", "APAC", "SG", "SGD", "harvest", 8, 0.10, "d2b.example"
    ),
    LegalEntity(
        "AU01", "D2B Consulting Pty Ltd", "APAC", "AU", "AUD", "harvest", 10, 0.10, "d2b.example"
    ),
)
LE_INDEX = {le.code: i for i, le in enumerate(LEGAL_ENTITIES)}

#: Currencies, with an approximate number of units per USD at the start of the history.
CURRENCIES: dict[str, float] = {
    "USD": 1.0,
    "CAD": 1.36,
    "GBP": 0.79,
    "EUR": 0.92,
    "SGD": 1.34,
    "AUD": 1.52,
}
CURRENCY_LIST = tuple(CURRENCIES)

#: Client countries per region (first one is the most common), with tax treatment groups.
COUNTRIES: dict[str, str] = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "DE": "Germany",
    "NL": "Netherlands",
    "FR": "France",
    "SG": "Singapore",
    "AU": "Australia",
    "JP": "Japan",
}
REGION_COUNTRIES: dict[str, tuple[str, ...]] = {
    "NA": ("US", "CA"),
    "EU": ("GB", "DE", "NL", "FR"),
    "APAC": ("SG", "AU", "JP"),
}
EU_COUNTRIES = frozenset({"DE", "NL", "FR"})


@dataclass(frozen=True)
class Role:
    """A job level: standard bill and cost rates in USD per hour."""

    name: str
    bill_rate_usd: int
    cost_rate_usd: int
    share: float  # share of headcount
    billable_share: float  # share of working time on client projects when staffed


ROLES: tuple[Role, ...] = (
    Role("Analyst", 150, 55, 0.18, 0.88),
    Role("Consultant", 200, 70, 0.25, 0.86),
    Role("Senior Consultant", 250, 85, 0.22, 0.84),
    Role("Manager", 300, 105, 0.15, 0.78),
    Role("Senior Manager", 350, 125, 0.09, 0.68),
    Role("Director", 420, 150, 0.07, 0.55),
    Role("Partner", 520, 190, 0.04, 0.42),
)

PRACTICES: dict[str, str] = {
    "STR": "Strategy",
    "TEC": "Technology",
    "DNA": "Data & Analytics",
    "OPS": "Operations",
    "FIN": "Finance Advisory",
}

#: Harvest account-level tasks: (name, kind) where kind is billable, client_nonbillable, internal.
TASKS: tuple[tuple[str, str], ...] = (
    ("Analysis", "billable"),
    ("Design", "billable"),
    ("Development", "billable"),
    ("Testing", "billable"),
    ("Project Management", "billable"),
    ("Workshops", "billable"),
    ("Documentation", "billable"),
    ("Data Migration", "billable"),
    ("Advisory", "billable"),
    ("Travel Time", "client_nonbillable"),
    ("Internal Meeting", "client_nonbillable"),
    ("Admin", "internal"),
    ("Training", "internal"),
    ("Business Development", "internal"),
    ("Bench", "internal"),
    ("Recruiting", "internal"),
)
BILLABLE_TASKS = tuple(i for i, (_, k) in enumerate(TASKS) if k == "billable")
CLIENT_NONBILLABLE_TASKS = tuple(i for i, (_, k) in enumerate(TASKS) if k == "client_nonbillable")
INTERNAL_TASKS = tuple(i for i, (_, k) in enumerate(TASKS) if k == "internal")

#: Internal (non-billable) projects every legal entity has: (code suffix, name, task names).
INTERNAL_PROJECTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("ADM", "Internal - Admin & Bench", ("Admin", "Bench", "Internal Meeting")),
    ("TRN", "Internal - Training", ("Training",)),
    ("BD", "Internal - Business Development", ("Business Development", "Recruiting")),
)

PROJECT_KINDS: tuple[str, ...] = (
    "Cloud Migration",
    "Data Platform",
    "ERP Implementation",
    "Operating Model Review",
    "Cost Transformation",
    "Customer Analytics",
    "Finance Transformation",
    "Cyber Assessment",
    "Supply Chain Redesign",
    "Digital Strategy",
    "Integration Programme",
    "Pricing Optimisation",
    "Regulatory Reporting",
    "Target Operating Model",
    "AI Readiness",
    "Post-Merger Integration",
)

BILLING_METHODS: tuple[str, ...] = ("time_and_materials", "fixed_fee", "retainer", "milestone")
BILLING_METHOD_WEIGHTS: tuple[float, ...] = (0.6, 0.2, 0.1, 0.1)
PAYMENT_TERMS: tuple[str, ...] = ("Net 30", "Net 45", "Net 60")
PAYMENT_TERMS_DAYS: dict[str, int] = {"Net 30": 30, "Net 45": 45, "Net 60": 60}


@dataclass(frozen=True)
class ExpenseType:
    """A Concur expense type with its policy, in USD (converted per currency in the config)."""

    code: str
    name: str
    gl_account: str
    median_usd: float
    receipt_required_over_usd: int
    policy_limit_usd: int | None
    rebillable: bool
    weight: float
    project_related: bool


EXPENSE_TYPES: tuple[ExpenseType, ...] = (
    ExpenseType("AIRFR", "Airfare", "6110", 620.0, 0, 2500, True, 0.08, True),
    ExpenseType("LODNG", "Hotel", "6120", 190.0, 0, 450, True, 0.16, True),
    ExpenseType("MEALS", "Meals", "6130", 32.0, 25, 120, True, 0.28, True),
    ExpenseType("TAXI", "Taxi / Rideshare", "6140", 28.0, 25, 150, True, 0.18, True),
    ExpenseType("TRAIN", "Train", "6150", 85.0, 25, 400, True, 0.08, True),
    ExpenseType("CARRT", "Car Rental", "6160", 95.0, 25, 300, True, 0.04, True),
    ExpenseType("MILEG", "Mileage", "6170", 45.0, 1000000, 300, True, 0.05, True),
    ExpenseType("ENTMT", "Client Entertainment", "6180", 140.0, 0, 600, False, 0.04, True),
    ExpenseType("SUPPL", "Office Supplies", "6210", 40.0, 75, 200, False, 0.05, False),
    ExpenseType("SFTWR", "Software Subscription", "6220", 60.0, 75, 300, False, 0.04, False),
)


def money_in(currency: str, usd: float) -> int:
    """Convert a USD policy amount into ``currency``, rounded to a whole multiple of 5 units."""
    value = usd * CURRENCIES[currency]
    return int(5 * round(value / 5)) if value >= 5 else int(round(value))


def expense_policy_rows() -> list[dict[str, str]]:
    """Return the expense policy (receipt threshold and limit per type and currency)."""
    rows = []
    for et in EXPENSE_TYPES:
        for cur in CURRENCY_LIST:
            receipt = et.receipt_required_over_usd
            rows.append(
                {
                    "expense_type_code": et.code,
                    "expense_type_name": et.name,
                    "currency": cur,
                    # 0 means a receipt is always required; mileage never needs one.
                    "receipt_required_over": ""
                    if receipt >= 1000000
                    else f"{money_in(cur, receipt)}.00",
                    "policy_limit": ""
                    if et.policy_limit_usd is None
                    else f"{money_in(cur, et.policy_limit_usd)}.00",
                    "is_rebillable_type": "true" if et.rebillable else "false",
                }
            )
    return rows


# Tax: (legal entity, client country, line kind) -> (tax code, rate percent).
_DOMESTIC: dict[str, tuple[str, str]] = {
    "US01": ("US-EXEMPT", "0.00"),  # professional services: no sales tax in the modelled states
    "CA01": ("CA-GST", "5.00"),
    "GB01": ("GB-VAT20", "20.00"),
    "DE01": ("DE-VAT19", "19.00"),
    "NL01": ("NL-VAT21", "21.00"),
    "SG01": ("SG-GST9", "9.00"),
    "AU01": ("AU-GST10", "10.00"),
}


def tax_rule(le: LegalEntity, client_country: str) -> tuple[str, str]:
    """Return (tax code, rate percent) for a supply of services by ``le`` to ``client_country``.

    Labour and re-billed expenses follow the main supply, so both line kinds share the rule.
    """
    if client_country == le.country:
        return _DOMESTIC[le.code]
    if le.country in EU_COUNTRIES and client_country in EU_COUNTRIES:
        return ("EU-RC", "0.00")  # intra-EU B2B services: reverse charge
    return (f"{le.country}-EXPORT", "0.00")  # export of services: zero-rated / out of scope


def tax_rule_rows() -> list[dict[str, str]]:
    """Every (legal entity, client country, line kind) tax rule, in a stable order."""
    rows = []
    for le in LEGAL_ENTITIES:
        for country in COUNTRIES:
            code, rate = tax_rule(le, country)
            for kind in ("labour", "expense"):
                rows.append(
                    {
                        "legal_entity": le.code,
                        "client_country": country,
                        "line_kind": kind,
                        "tax_code": code,
                        "tax_rate": rate,
                    }
                )
    return rows


# --- holidays --------------------------------------------------------------------------------

_LUNAR_NEW_YEAR = {
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
    2033: date(2033, 1, 31),
    2034: date(2034, 2, 19),
    2035: date(2035, 2, 8),
}


def easter(year: int) -> date:
    """Western Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    ll = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * ll) // 451
    month, day = divmod(h + ll - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    if n > 0:
        return first + timedelta(days=offset + 7 * (n - 1))
    # last occurrence
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def region_holidays(region: str, year: int) -> list[tuple[date, str]]:
    """The holiday calendar of ``region`` for ``year`` (one calendar per region)."""
    e = easter(year)
    common = [(date(year, 1, 1), "New Year's Day"), (date(year, 12, 25), "Christmas Day")]
    if region == "NA":
        days = [
            (e - timedelta(days=2), "Good Friday"),
            (_nth_weekday(year, 5, 0, -1), "Memorial Day"),
            (date(year, 7, 4), "Independence Day"),
            (_nth_weekday(year, 9, 0, 1), "Labor Day"),
            (_nth_weekday(year, 11, 3, 4), "Thanksgiving Day"),
        ]
    elif region == "EU":
        days = [
            (e - timedelta(days=2), "Good Friday"),
            (e + timedelta(days=1), "Easter Monday"),
            (date(year, 5, 1), "Labour Day"),
            (date(year, 12, 26), "Boxing Day"),
        ]
    else:
        lny = _LUNAR_NEW_YEAR.get(year)
        days = [(e - timedelta(days=2), "Good Friday"), (date(year, 5, 1), "Labour Day")]
        if lny is not None:
            days += [(lny, "Lunar New Year"), (lny + timedelta(days=1), "Lunar New Year (day 2)")]
    return sorted(common + days)


def _words(text: str) -> list[str]:
    """Whitespace-separated words of a long literal."""
    return text.split()


# --- names -----------------------------------------------------------------------------------

FIRST_NAMES = tuple(
    _words(
        "Ava Liam Noah Emma Olivia Mia Lucas Sofia Elias Hannah Aarav Priya Wei Mei Hiroshi "
        "Yuki Chen Jia Omar Layla Mateo Valentina Diego Camila Luca Giulia Jonas Lena Finn "
        "Clara Oscar Freya Arjun Ananya Rohan Isha Kwame Amara Tariq Zara Nikolai Anya Sven "
        "Ingrid Pieter Anouk Daan Sanne Louis Chloe Hugo Jade Marco Elena Tomas Maria Felix "
        "Nora Leo Alice James Grace Ethan Ruby Jack Isla Henry Ella Samuel Zoe David Sarah "
        "Daniel Laura Michael Julia Matteo Ines Rafael Beatriz Kenji Sakura Minh Linh Sipho "
        "Thandi Mohammed Fatima Alexei Olga Ravi Deepa Kai Leilani Connor Siobhan Mateus"
    )
)
LAST_NAMES = tuple(
    _words(
        "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
        "Lopez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Thompson White Harris "
        "Clark Lewis Walker Hall Young King Wright Scott Green Baker Adams Nelson Hill Campbell "
        "Mitchell Roberts Carter Phillips Evans Turner Torres Parker Collins Edwards Stewart "
        "Morris Murphy Cook Rogers Morgan Peterson Cooper Reed Bailey Bell Kelly Howard Ward "
        "Cox Richardson Wood Watson Brooks Bennett Gray Hughes Price Sanders Patel Shah Kumar "
        "Singh Chen Wang Li Zhang Liu Tanaka Suzuki Sato Nguyen Tran Kim Park Muller Schmidt "
        "Schneider Fischer Weber Becker deVries Jansen Bakker Visser Smit Dubois Moreau Laurent "
        "Rossi Russo Costa Silva Santos Okafor Mensah"
    )
)

CLIENT_WORDS_A = tuple(
    _words(
        "Acme Northwind Contoso Globex Initech Umbrella Stark Wayne Tyrell Cyberdyne Soylent "
        "Hooli Vandelay Wonka Oceanic Massive Aperture Blackmesa Gringotts Monarch Sterling "
        "Pied Piper Dunder Prestige Vertex Summit Harbor Pinnacle Evergreen Silverline Bluewave "
        "Redwood Ironclad Goldfield Crescent Polaris Meridian Keystone Horizon Atlas Beacon "
        "Cascade Falcon Granite Juniper Lighthouse Maple Nimbus Orchard"
    )
)
CLIENT_WORDS_B = tuple(
    _words(
        "Industries Holdings Logistics Bank Insurance Retail Energy Health Pharma Telecom Foods "
        "Motors Airlines Capital Media Systems Mining Utilities Chemicals Realty"
    )
)
COMPANY_SUFFIX = {
    "US": "Inc.",
    "CA": "Ltd.",
    "GB": "plc",
    "DE": "AG",
    "NL": "N.V.",
    "FR": "SA",
    "SG": "Pte Ltd",
    "AU": "Ltd",
    "JP": "K.K.",
}
CITIES = {
    "US": ("New York", "Chicago", "Austin", "Boston", "Seattle"),
    "CA": ("Toronto", "Montreal", "Vancouver"),
    "GB": ("London", "Manchester", "Edinburgh"),
    "DE": ("Berlin", "Munich", "Frankfurt am Main", "Hamburg"),
    "NL": ("Amsterdam", "Rotterdam", "Utrecht"),
    "FR": ("Paris", "Lyon"),
    "SG": ("Singapore",),
    "AU": ("Sydney", "Melbourne", "Brisbane"),
    "JP": ("Tokyo", "Osaka"),
}
INDUSTRIES = (
    "Banking",
    "Insurance",
    "Retail",
    "Energy",
    "Healthcare",
    "Technology",
    "Manufacturing",
    "Telecommunications",
    "Transportation",
    "Media",
)

NOTE_PHRASES: dict[str, tuple[str, ...]] = {
    "Analysis": ("Requirements analysis", "Current-state review", "Stakeholder interviews"),
    "Design": ("Solution design", "Target architecture draft", "Design review"),
    "Development": ("Build sprint work", "Pipeline development", "Configuration"),
    "Testing": ("Test execution", "Defect triage", "UAT support"),
    "Project Management": ("Status reporting", "Planning", "Steering committee prep"),
    "Workshops": ("Client workshop", "Workshop preparation", "Design thinking session"),
    "Documentation": ("Documentation", "Handover notes", "Runbook update"),
    "Data Migration": ("Data mapping", "Migration dry run", "Reconciliation checks"),
    "Advisory": ("Advisory call", "Board pack review", "Executive briefing"),
    "Travel Time": ("Travel to client site", "Return travel"),
    "Internal Meeting": ("Team meeting", "Practice call"),
    "Admin": ("Admin", "Expense reports", "Timesheets and admin"),
    "Training": ("Certification study", "Internal training", "Conference"),
    "Business Development": ("Proposal writing", "Pitch preparation", "Client meeting"),
    "Bench": ("Bench - available", "Knowledge sharing"),
    "Recruiting": ("Interviews", "CV screening"),
}


def sf_id(prefix: str, number: int) -> str:
    """Return an 18-character Salesforce Id for ``prefix`` (3 chars) and a sequence number.

    The 15-character case-sensitive Id is ``prefix`` + pod "5g0000" + 6 base-62 digits; the
    three-character suffix is Salesforce's case-checksum, so the Ids are well formed.
    """
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    digits = []
    n = number
    for _ in range(6):
        n, r = divmod(n, 62)
        digits.append(alphabet[r])
    base = prefix + "5g0000" + "".join(reversed(digits))
    suffix_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
    suffix = ""
    for chunk in range(3):
        bits = 0
        for pos, ch in enumerate(base[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << pos
        suffix += suffix_chars[bits]
    return base + suffix
