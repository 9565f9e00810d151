"""``python -m tests.support.run_billing``: ``erp.run_billing``'s command line with faults.

The crash tests run this in a child process. On top of the shipped options it takes
``--fault-after STEP`` (SIGKILL at that billing step, repeatable) and ``--transient-failures N``
/ ``--lost-responses N`` (the ERP adapter fails that many creates first, see
:class:`tests.support.flaky.FlakyAdapter`).
"""

from __future__ import annotations

from collections.abc import Sequence

from erp.run_billing import build_parser, run_from_args
from tests.support.faults import FAULT_POINTS, Faults
from tests.support.flaky import FlakyAdapter


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the shipped options plus fault injection; run the billing."""
    parser = build_parser()
    parser.prog = "python -m tests.support.run_billing"
    parser.add_argument(
        "--fault-after",
        action="append",
        choices=FAULT_POINTS,
        default=[],
        help="SIGKILL this process at STEP (repeatable)",
    )
    parser.add_argument("--transient-failures", type=int, default=0, help="fail N creates first")
    parser.add_argument("--lost-responses", type=int, default=0, help="lose N create responses")
    args = parser.parse_args(argv)
    flaky = args.transient_failures or args.lost_responses
    return run_from_args(
        args,
        step_hook=Faults.of(args.fault_after),
        wrap_adapter=(
            (lambda adapter: FlakyAdapter(adapter, args.transient_failures, args.lost_responses))
            if flaky
            else None
        ),
    )


if __name__ == "__main__":
    raise SystemExit(main())
