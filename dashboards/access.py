"""Who may see which rows: the firm's grants (``$D2B_HOME/access.toml``) and the signed-in user.

A grant gives a role to IdP groups or e-mail addresses; the role decides which dimension
bounds what its holders see:

- ``executive``: everything;
- ``regional_lead``: the listed ``regions``;
- ``entity_finance``: the listed ``legal_entities``;
- ``delivery_lead``: the listed ``practices`` (their workers' records, as in
  ``marts.dim_resources``) or the listed ``clients`` (names as in ``marts.dim_clients``);
- ``analyst``: exactly one of ``regions``, ``legal_entities``, ``clients`` or ``practices``.

A user matching several grants sees the union of their values when they bound the same
dimension, everything when one is ``executive``, and nothing (a clear refusal) when they
bound different dimensions: "region EU or client Acme" is no filter the queries can take.
``administrators`` (e-mails or groups) also see the access log. Nobody matching no grant sees
anything. Some roles also act (:data:`ROLE_PERMISSIONS`): ``release_billing`` (executives and
entity finance) releases the batches awaiting release that the user sees on the Billing
operations page. The scope is enforced by :mod:`dashboards.data`, the only door to data.

Demo mode (``d2b dashboard --demo``, ``D2B_DASHBOARD_DEMO=true``) signs nobody in: one local
user, ``demo``, executive and administrator, on loopback only.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from d2b.settings import Settings

DIMENSIONS = ("regions", "legal_entities", "clients", "practices")
#: Role -> the dimensions one of which its grant lists (None: everything, no bound).
ROLES: dict[str, tuple[str, ...] | None] = {
    "executive": None,
    "regional_lead": ("regions",),
    "entity_finance": ("legal_entities",),
    "delivery_lead": ("practices", "clients"),
    "analyst": DIMENSIONS,
}
#: Dimension -> the column that names a row's value, in query results and published marts
#: alike (the data module's searches and records, the analysts' scoped snapshots).
SCOPE_COLUMNS = {
    "regions": "region",
    "legal_entities": "legal_entity",
    "clients": "client_name",
    "practices": "practice",
}
#: Release billing batches awaiting release (the Billing operations page's release action).
RELEASE_BILLING = "release_billing"
#: Role -> what its holders may do beyond reading (within their scope).
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "executive": frozenset({RELEASE_BILLING}),
    "entity_finance": frozenset({RELEASE_BILLING}),
}
#: The environment variable that turns demo mode on (``d2b dashboard --demo`` sets it).
DEMO_VARIABLE = "D2B_DASHBOARD_DEMO"
DEMO_USER = "demo"


class AccessError(ValueError):
    """The access file is malformed, or a user's grants cannot be combined."""


@dataclass(frozen=True)
class Scope:
    """The rows a user may see: ``values`` of ``dimension``, or everything (``dimension`` None)."""

    dimension: str | None = None
    values: frozenset[str] = frozenset()

    @property
    def is_everything(self) -> bool:
        """Whether nothing bounds this scope (an executive's)."""
        return self.dimension is None

    def allows(self, dimension: str, value: Any) -> bool:
        """Whether a row whose ``dimension`` is ``value`` is inside the scope."""
        if self.dimension is None or dimension != self.dimension:
            return self.dimension is None
        return value in self.values

    def describe(self) -> str:
        """``all data`` or ``regions: EU, NA`` (for the sidebar)."""
        if self.dimension is None:
            return "all data"
        return f"{self.dimension.replace('_', ' ')}: {', '.join(sorted(self.values)) or 'none'}"


#: A scope that shows nothing (a signed-in user no grant names).
NOTHING = Scope("clients", frozenset())


@dataclass(frozen=True)
class Grant:
    """One ``[[grant]]`` of the access file."""

    role: str
    emails: frozenset[str]
    groups: frozenset[str]
    scope: Scope

    def matches(self, email: str | None, groups: Iterable[str]) -> bool:
        """Whether a user with ``email`` in ``groups`` holds this grant."""
        return (email is not None and email.lower() in self.emails) or bool(
            self.groups & set(groups)
        )


@dataclass(frozen=True)
class AccessPolicy:
    """The firm's grants and administrators, read from the access file."""

    grants: tuple[Grant, ...] = ()
    admin_emails: frozenset[str] = frozenset()
    admin_groups: frozenset[str] = frozenset()
    groups_claim: str = "groups"

    def scope_for(self, email: str | None, groups: Iterable[str]) -> Scope:
        """The union of the scopes of the grants the user holds (see the module doc)."""
        groups = set(groups)
        held = [g for g in self.grants if g.matches(email, groups)]
        if not held:
            return NOTHING
        if any(g.scope.is_everything for g in held):
            return Scope()
        dimensions = {g.scope.dimension for g in held}
        if len(dimensions) > 1:
            raise AccessError(
                f"{email or 'this user'} holds grants on {' and '.join(sorted(dimensions))}; "
                "give them grants on one dimension"
            )
        return Scope(held[0].scope.dimension, frozenset().union(*(g.scope.values for g in held)))

    def permissions_for(self, email: str | None, groups: Iterable[str]) -> frozenset[str]:
        """What the roles of the grants the user holds allow (:data:`ROLE_PERMISSIONS`)."""
        groups = set(groups)
        return frozenset().union(
            *(ROLE_PERMISSIONS.get(g.role, ()) for g in self.grants if g.matches(email, groups))
        )

    def is_admin(self, email: str | None, groups: Iterable[str]) -> bool:
        """Whether the user may read the access log."""
        return (email is not None and email.lower() in self.admin_emails) or bool(
            self.admin_groups & set(groups)
        )


def _strings(table: Mapping[str, Any], key: str, where: str) -> frozenset[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise AccessError(f"{where}: {key} must be a list of non-empty strings")
    return frozenset(value)


def _grant(table: Mapping[str, Any], where: str) -> Grant:
    role = table.get("role")
    if role not in ROLES:
        raise AccessError(f"{where}: role must be one of {', '.join(ROLES)}, not {role!r}")
    unknown = set(table) - {"role", "emails", "groups", *DIMENSIONS}
    if unknown:
        raise AccessError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    emails = frozenset(e.lower() for e in _strings(table, "emails", where))
    groups = _strings(table, "groups", where)
    if not emails and not groups:
        raise AccessError(f"{where}: a grant names emails or groups")
    bounds = {d: _strings(table, d, where) for d in DIMENSIONS if d in table}
    wanted = ROLES[role]
    if wanted is None:
        if bounds:
            raise AccessError(f"{where}: an executive grant lists no {', '.join(bounds)}")
        return Grant(role, emails, groups, Scope())
    if len(bounds) != 1 or not bounds.keys() <= set(wanted):
        expected = wanted[0] if len(wanted) == 1 else f"one of {', '.join(wanted)}"
        raise AccessError(f"{where}: a {role} grant lists {expected} (and nothing else)")
    ((dimension, values),) = bounds.items()
    if not values:
        raise AccessError(f"{where}: {dimension} is empty")
    return Grant(role, emails, groups, Scope(dimension, values))


def parse_policy(text: str, source: str = "access file") -> AccessPolicy:
    """The policy in TOML ``text`` (errors name ``source`` and the grant)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise AccessError(f"{source}: not valid TOML ({error})") from None
    unknown = set(document) - {"grant", "administrators", "groups_claim"}
    if unknown:
        raise AccessError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    grants = document.get("grant", [])
    if not isinstance(grants, list):
        raise AccessError(f"{source}: grants are written [[grant]]")
    admins = document.get("administrators", {})
    if not isinstance(admins, dict):
        raise AccessError(f"{source}: administrators is a table (emails, groups)")
    claim = document.get("groups_claim", "groups")
    if not isinstance(claim, str) or not claim:
        raise AccessError(f"{source}: groups_claim is the ID token claim listing groups")
    return AccessPolicy(
        grants=tuple(_grant(g, f"{source}, grant {i + 1}") for i, g in enumerate(grants)),
        admin_emails=frozenset(
            e.lower() for e in _strings(admins, "emails", f"{source}, administrators")
        ),
        admin_groups=_strings(admins, "groups", f"{source}, administrators"),
        groups_claim=claim,
    )


def access_file() -> Path:
    """Where the firm's grants are (``D2B_ACCESS_FILE``, default ``$D2B_HOME/access.toml``)."""
    return Settings.from_env().dashboard.access_file


def load_policy(path: Path | None = None) -> AccessPolicy:
    """The policy in the access file (no file: no grants, so nobody signed in sees data)."""
    path = path or access_file()
    if not path.is_file():
        return AccessPolicy()
    return parse_policy(path.read_text(), str(path))


def demo_mode() -> bool:
    """Whether the dashboards run in explicit demo mode (no sign-in, loopback only)."""
    return Settings.from_env().dashboard.demo


@dataclass(frozen=True)
class Principal:
    """The user a session runs for: name (e-mail), scope, admin or not, and permissions.

    ``permissions``: what the user's roles allow (:data:`ROLE_PERMISSIONS`).
    """

    name: str
    scope: Scope
    is_admin: bool = False
    permissions: frozenset[str] = frozenset()

    def may(self, permission: str) -> bool:
        """Whether the user holds ``permission``."""
        return permission in self.permissions


DEMO_PRINCIPAL = Principal(
    DEMO_USER, Scope(), is_admin=True, permissions=frozenset().union(*ROLE_PERMISSIONS.values())
)


def principal_from_claims(claims: Mapping[str, Any], policy: AccessPolicy) -> Principal:
    """The principal an ID token's ``claims`` describe under ``policy``."""
    email = claims.get("email")
    email = email if isinstance(email, str) and email else None
    raw_groups = claims.get(policy.groups_claim) or []
    groups = [raw_groups] if isinstance(raw_groups, str) else [str(g) for g in raw_groups]
    name = email or str(claims.get("sub", "unknown"))
    return Principal(
        name,
        policy.scope_for(email, groups),
        policy.is_admin(email, groups),
        policy.permissions_for(email, groups),
    )


#: Where a session keeps its principal (set by the app's sign-in gate on every run).
PRINCIPAL_KEY = "d2b_principal"


def session_principal() -> Principal:
    """The principal of the running Streamlit session (raises when nobody is signed in)."""
    import streamlit as st

    principal = st.session_state.get(PRINCIPAL_KEY)
    if not isinstance(principal, Principal):
        raise PermissionError("nobody is signed in to this session")
    return principal
