"""`talktracks search QUERY`: full-text search over the stored transcripts."""

from __future__ import annotations

import argparse
import sys

from talktracks.cli.common import add_db_option, store_from
from talktracks.errors import InputError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser(
        "search",
        help="find utterances by their words (SQLite FTS5 or PostgreSQL full-text search)",
    )
    p.add_argument(
        "query", help="words that must all occur (stemmed: 'referrals' finds 'referral')"
    )
    p.add_argument("--behaviour", help="only utterances tagged with this behaviour")
    p.add_argument("--rep", help="only calls of this rep_id")
    p.add_argument("--limit", type=int, default=50, help="at most this many results (default 50)")
    add_db_option(p)
    p.set_defaults(handler=cmd_search)


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m}:{s:02d}"


def cmd_search(args: argparse.Namespace) -> int:
    from talktracks.store import Call
    from talktracks.store.search import query_words, search_utterances

    if not query_words(args.query):
        raise InputError(f"search query {args.query!r} has no words to look for")
    if args.limit < 1:
        raise InputError(f"--limit must be at least 1, not {args.limit}")
    if args.behaviour:
        from talktracks.behaviours.taxonomy import load_taxonomy

        known = load_taxonomy().names
        if args.behaviour not in known:
            raise InputError(f"unknown behaviour {args.behaviour!r} (known: {', '.join(known)})")
    store = store_from(args, writable=False)
    where = [Call.rep_id == args.rep] if args.rep else []
    with store.session() as s:
        hits, total = search_utterances(
            s, args.query, behaviour=args.behaviour, where=where, limit=args.limit
        )
    for h in hits:
        print(f"{h.call_id}\t{_clock(h.start)}\t{h.speaker}\t{h.rep_id or '-'}\t{h.text}")
    shown = f" (showing {len(hits)})" if total > len(hits) else ""
    print(f"{total} matching utterance{'' if total == 1 else 's'}{shown}", file=sys.stderr)
    return 0
