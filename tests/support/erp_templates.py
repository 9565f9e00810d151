"""One cache of bootstrapped Tryton templates for every test on this machine.

Bootstrapping the embedded ERP (a company per legal entity, charts, taxes) takes a minute or
more; a new database is a copy of a cached template. Every test home (in-process runs, the
ERP tests and ``d2b`` subprocesses) shares this cache, so each configuration is bootstrapped
once per machine, not once per home.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: ``D2B_ERP_TEMPLATE_DIR`` when set, else ``.d2b/erp-templates`` in the checkout (git-ignored).
ERP_TEMPLATES = Path(os.environ.get("D2B_ERP_TEMPLATE_DIR") or REPO / ".d2b" / "erp-templates")
