"""Benchmarks and the reference SQL of the headline figures, behind ``d2b bench``.

``d2b bench`` alone runs the scale ladder (:mod:`bench.ladder`); ``d2b bench SUITE ...`` runs
one of :data:`SUITES`, each with its own options (``d2b bench SUITE --help``).
"""

#: The focused benchmarks: name on the command line -> (module with ``main(argv)``, summary).
SUITES = {
    "erp": ("bench.erp_write_back", "write-back: Tryton bulk-create speed and a month of billing"),
    "ingest": ("bench.ingest_load", "ingest: load a landing zone into a fresh warehouse"),
    "generator": ("bench.generator_speed", "generator: time and memory of one synthetic firm"),
    "dashboards": ("bench.dashboard_pages", "dashboards: query latency and render time per page"),
    "reference": (
        "bench.reference",
        "reference SQL: the headline figures from the landing files, checked against the truth",
    ),
}
