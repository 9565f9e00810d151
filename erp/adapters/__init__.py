"""ERP adapters: one interface (:mod:`erp.adapters.base`), Tryton and file drop behind it."""

from __future__ import annotations

from erp.adapters.base import ErpAdapter
from erp.settings import ErpSettings


def make_adapter(settings: ErpSettings) -> ErpAdapter:
    """Build the adapter ``settings`` select (imports Tryton only when it is used)."""
    if settings.adapter == "filedrop":
        from erp.adapters.filedrop import FileDropAdapter

        if settings.filedrop_dir is None:
            raise ValueError("the file-drop adapter needs filedrop_dir")
        return FileDropAdapter(settings.filedrop_dir)
    from erp.adapters.tryton import TrytonAdapter

    return TrytonAdapter(settings.tryton)
