"""Flag rule configuration: the packaged rules.toml, optionally overlaid by the user's file.

The user's file holds only the keys it changes; everything else keeps the packaged value.
Unknown rules or keys are refused, so a misspelt threshold fails loudly instead of being
ignored.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from talktracks.errors import ConfigError

PACKAGED_RULES = Path(__file__).with_name("rules.toml")

Severity = Literal["low", "medium", "high"]
SEVERITY_ORDER: dict[str, int] = {"high": 0, "medium": 1, "low": 2}


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    severity: Severity = "medium"


class EarlyPrice(_Rule):
    price_behaviour: str = "price_mention"
    introduction_behaviour: str = "product_introduction"
    early_fraction: float = Field(0.25, ge=0.0, le=1.0)


class MissedReferral(_Rule):
    referral_behaviour: str = "referral_request"


class LongMonologue(_Rule):
    max_seconds: float = Field(120.0, gt=0)


class LowTalkBalance(_Rule):
    max_rep_talk_ratio: float = Field(0.75, gt=0.0, lt=1.0)
    min_speech_seconds: float = Field(60.0, ge=0)


class UncertainTag(_Rule):
    min_score: float = Field(0.35, ge=0.0, le=1.0)
    max_score: float = Field(0.65, ge=0.0, le=1.0)
    max_per_call: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _band_is_ordered(self) -> UncertainTag:
        if self.min_score > self.max_score:
            raise ValueError("min_score must not be above max_score")
        return self


class FlagRules(BaseModel):
    """Every rule's settings. Field names are the rule names stored on flags."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    early_price: EarlyPrice = EarlyPrice()
    missed_referral: MissedReferral = MissedReferral()
    long_monologue: LongMonologue = LongMonologue()
    low_talk_balance: LowTalkBalance = LowTalkBalance()
    uncertain_tag: UncertainTag = UncertainTag()

    def behaviours(self) -> set[str]:
        """Behaviour names the rules refer to (checked against the taxonomy by callers)."""
        return {
            self.early_price.price_behaviour,
            self.early_price.introduction_behaviour,
            self.missed_referral.referral_behaviour,
        }


RULE_NAMES: tuple[str, ...] = tuple(FlagRules.model_fields)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"coaching rules {path}: file not found") from exc
    except OSError as exc:
        raise ConfigError(f"coaching rules {path}: cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"coaching rules {path}: not valid TOML: {exc}") from exc


def _overlay(base: dict[str, Any], extra: dict[str, Any], where: Path) -> dict[str, Any]:
    merged = {name: dict(table) for name, table in base.items()}
    for name, table in extra.items():
        if not isinstance(table, dict):
            raise ConfigError(f"coaching rules {where}: {name} must be a table ([{name}])")
        merged.setdefault(name, {}).update(table)
    return merged


def load_rules(path: Path | None = None) -> FlagRules:
    """The packaged rules with `path`'s values laid over them. Raises ConfigError on bad input."""
    data = _read_toml(PACKAGED_RULES)
    where = PACKAGED_RULES
    if path is not None:
        where = Path(path)
        data = _overlay(data, _read_toml(where), where)
    try:
        return FlagRules.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigError(f"coaching rules {where}: {loc}: {err['msg']}") from exc
