"""Dagster resources: configuration lives here, resolved at run time, never at import."""

from __future__ import annotations

import os

import dagster as dg

from d2b.settings import Settings

#: Every asset that writes the warehouse file runs in this pool; its limit is 1 (docs/design.md §7).
WAREHOUSE_POOL = "d2b_warehouse"


class D2BSettingsResource(dg.ConfigurableResource):
    """Where Deliver-to-Bill keeps its state.

    Fields left empty fall back to the environment (``D2B_HOME``, ``D2B_LANDING``,
    ``D2B_WAREHOUSE``) and then to the defaults of :class:`d2b.settings.Settings`,
    resolved when a run uses the resource rather than when the code is loaded.
    """

    home: str | None = None
    landing: str | None = None
    warehouse: str | None = None

    def settings(self) -> Settings:
        """Resolve the effective settings: fields, then environment, then defaults."""
        environ = dict(os.environ)
        for variable, value in (
            ("D2B_HOME", self.home),
            ("D2B_LANDING", self.landing),
            ("D2B_WAREHOUSE", self.warehouse),
        ):
            if value:
                environ[variable] = value
        return Settings.from_env(environ)
