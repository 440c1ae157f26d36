"""Coaching flags: rules as data (rules.toml), evaluated over the store after each nightly run.

The nightly flow calls `compute_flags(store, settings)`; the review app's admin page calls it
too. Rendering the flags is the review app's business, not this package's.
"""

from talktracks.coaching.flags import FlagCandidate, FlagSummary, compute_flags, evaluate
from talktracks.coaching.rules import RULE_NAMES, SEVERITY_ORDER, FlagRules, load_rules

__all__ = [
    "RULE_NAMES",
    "SEVERITY_ORDER",
    "FlagCandidate",
    "FlagRules",
    "FlagSummary",
    "compute_flags",
    "evaluate",
    "load_rules",
]
