"""`talktracks import-deals` and `talktracks analyze`: parse, call, print."""

from __future__ import annotations

import argparse
from pathlib import Path

from talktracks.cli.common import add_db_option, settings_from, store_from
from talktracks.cli.progress import phase


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "import-deals",
        help="import deal outcomes from a CRM CSV (deal_id, outcome, amount, closed_at, ...)",
        description="Validate the whole file, then insert or update deals in one transaction.",
    )
    p.add_argument("path", type=Path, metavar="DEALS_CSV")
    add_db_option(p)
    p.set_defaults(handler=_import_deals)

    p = sub.add_parser(
        "analyze",
        help="link behaviours to deal outcomes; write CSVs and report.html",
        description="Compute call metrics, rep KPIs, effects and talk tracks; write them to "
        "--out and replace the stored analysis results.",
    )
    add_db_option(p)
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default: <data_dir>/analysis for the configured database, "
        "<folder>/<name>-analysis beside another SQLite file)",
    )
    p.add_argument(
        "--tz", default="UTC", help="IANA time zone for weekday/hour of calls (default UTC)"
    )
    p.add_argument(
        "--rep-control",
        default="auto",
        choices=("auto", "fixed", "conditional", "cluster", "none"),
        help="how to control for the rep (default auto; see docs/analysis-method.md)",
    )
    p.add_argument(
        "--min-deals", type=int, default=10, help="fewest deals per side to estimate (default 10)"
    )
    p.add_argument(
        "--control",
        action="append",
        default=[],
        metavar="ATTRIBUTE",
        help="also control for this deal attribute column, e.g. segment (repeatable)",
    )
    p.add_argument(
        "--behaviour",
        action="append",
        default=[],
        metavar="NAME",
        help="include a behaviour even if it was never tagged (repeatable)",
    )
    p.add_argument(
        "--any-speaker",
        action="append",
        default=None,
        metavar="NAME",
        help="behaviour counted whoever says it (repeatable; default: price_mention)",
    )
    p.set_defaults(handler=_analyze)


def _import_deals(args: argparse.Namespace) -> int:
    from talktracks.ingest.deals import import_deals

    store = store_from(args)
    try:
        with phase(f"importing {args.path}"):
            summary = import_deals(store, args.path)
    finally:
        store.dispose()
    print(summary.line())
    return 0


def _analyze(args: argparse.Namespace) -> int:
    from talktracks.analysis import AnalysisOptions, refresh_analysis
    from talktracks.analysis.metrics import DEFAULT_ANY_SPEAKER
    from talktracks.config import get_settings
    from talktracks.errors import ConfigError
    from talktracks.store import mask_url

    # Judged by the configured settings, not the --db copy: another database's numbers must
    # never land in the configured database's folder.
    url = settings_from(args).database_url
    out = args.out or get_settings().analysis_dir_for(url)
    if out is None:
        raise ConfigError(
            f"give --out DIR: the analysis of {mask_url(url)} has no default "
            "folder (only the configured database and SQLite files do)"
        )
    options = AnalysisOptions(
        behaviours=tuple(args.behaviour),
        any_speaker=tuple(args.any_speaker) if args.any_speaker else DEFAULT_ANY_SPEAKER,
        rep_control=args.rep_control,
        min_deals=args.min_deals,
        controls=tuple(args.control),
        tz=args.tz,
    )
    store = store_from(args)
    try:
        with phase("analysing calls and deals"):
            summary = refresh_analysis(store, out, options)
    finally:
        store.dispose()
    print(summary.message)
    for line in (summary.headline, summary.model_note, summary.top_performers_message):
        if line:
            print(line)
    print(
        f"{summary.n_calls_analysed} calls analysed ({summary.n_calls_unlinked} unlinked), "
        f"{summary.n_deals_with_calls} deals ({summary.n_won} won, {summary.n_lost} lost, "
        f"{summary.n_open} open), {summary.n_reps} reps; rep control: {summary.rep_control}"
    )
    print(f"wrote {', '.join(summary.files)} to {summary.out_dir}")
    return 0
