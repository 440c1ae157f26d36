"""ORM tables. Standard SQL types only, so PostgreSQL works without rewrites.

Timestamps are stored as naive UTC and come back timezone-aware (UTC): SQLite keeps no zone,
and one convention for both backends avoids "which zone was this?" bugs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; naive UTC on disk."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; give it a zone")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Call(Base):
    """One recorded (or imported) call. `status` drives the nightly run's incremental logic."""

    __tablename__ = "calls"

    call_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    rep_id: Mapped[str | None] = mapped_column(String(200), index=True)
    deal_id: Mapped[str | None] = mapped_column(String(200), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channels: Mapped[str] = mapped_column(String(16), default="mono")
    recording: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    duration: Mapped[float | None] = mapped_column(Float)
    language: Mapped[str | None] = mapped_column(String(16))
    asr_model: Mapped[str | None] = mapped_column(String(200))
    asr_model_hash: Mapped[str | None] = mapped_column(String(64))
    processing_seconds: Mapped[float | None] = mapped_column(Float)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(16), default="audio")
    # The behaviour model whose machine tags the call's current utterances carry (also when it
    # found nothing); None when the transcript was written without tagging.
    tagged_with: Mapped[str | None] = mapped_column(String(64))
    # Set, with the attempt counted, before decoding starts; cleared when the attempt ends.
    # Still set at the next start: the process died mid-call (batch.attempts).
    attempt_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    crashes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_run_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    utterances: Mapped[list[Utterance]] = relationship(
        back_populates="call",
        cascade="all, delete-orphan",
        order_by="Utterance.idx",
        passive_deletes=True,
    )


class Utterance(Base):
    """A speaker's consecutive words. `words` holds [{start, end, word, probability}]."""

    __tablename__ = "utterances"
    __table_args__ = (UniqueConstraint("call_id", "idx", name="uq_utterances_call_idx"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    idx: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Float)
    words: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    call: Mapped[Call] = relationship(back_populates="utterances")
    tags: Mapped[list[Tag]] = relationship(
        back_populates="utterance", cascade="all, delete-orphan", passive_deletes=True
    )


class Run(Base):
    """One pipeline run with its counts; a run left 'running' by a killed process is 'aborted' later."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), default="nightly")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    discovered: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    no_speech: Mapped[int] = mapped_column(Integer, default=0)
    audio_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    warnings: Mapped[list[str] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    flow_run_id: Mapped[str | None] = mapped_column(String(64))


class Lease(Base):
    """An exclusive job's lease ("nightly"): who holds it, their heartbeat, when it expires."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    run_id: Mapped[int | None] = mapped_column(Integer)
    acquired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Tag(Base):
    """A behaviour found in an utterance, with the evidence span (character offsets into text)."""

    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_call_behaviour", "call_id", "behaviour"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    utterance_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("utterances.id", ondelete="CASCADE"), index=True
    )
    # Denormalised so per-call and per-deal analysis needs no join through 3M utterances.
    call_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("calls.call_id", ondelete="CASCADE")
    )
    behaviour: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(8))  # rule, model, both, coach
    evidence_start: Mapped[int] = mapped_column(Integer)
    evidence_end: Mapped[int] = mapped_column(Integer)
    model_version: Mapped[str] = mapped_column(String(64))

    utterance: Mapped[Utterance] = relationship(back_populates="tags")


class Deal(Base):
    """A CRM deal. Extra CSV columns (segment, region...) live in `attributes`."""

    __tablename__ = "deals"

    deal_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(8))  # won, lost, open
    amount: Mapped[float | None] = mapped_column(Float)
    closed_at: Mapped[date | None] = mapped_column(Date)
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Label(Base):
    """A human (or seed) judgement that an utterance does or does not show a behaviour.

    The text is copied so a label survives re-transcription of its call (the utterance row is
    replaced then, and `utterance_id` goes NULL); training reads `text`, `speaker` and `value`.
    """

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    utterance_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("utterances.id", ondelete="SET NULL"), index=True
    )
    call_id: Mapped[str | None] = mapped_column(String(200), index=True)
    text: Mapped[str] = mapped_column(Text)
    speaker: Mapped[str] = mapped_column(String(16))
    behaviour: Mapped[str] = mapped_column(String(64))
    value: Mapped[bool] = mapped_column(Boolean)
    author: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str] = mapped_column(String(16))  # seed, coach, import
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))  # coach, admin
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewSession(Base):
    """A signed-in review-app session. The cookie holds a random token; only its SHA-256 is
    stored, so a copy of this table opens no session. Deleting the row ends the session."""

    __tablename__ = "review_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    flash: Mapped[str | None] = mapped_column(Text)


class SignInBucket(Base):
    """Failed sign-ins counted for one key (user+address, user, or address) in a window.
    In the store, so counts hold across restarts and worker processes."""

    __tablename__ = "sign_in_buckets"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Flag(Base):
    """A coaching flag. `dedupe_key` makes re-running the rules idempotent."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    rule: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    at_seconds: Mapped[float | None] = mapped_column(Float)
    utterance_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("utterances.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dedupe_key: Mapped[str] = mapped_column(String(400), unique=True)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    call_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    utterance_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("utterances.id", ondelete="SET NULL")
    )
    at_seconds: Mapped[float | None] = mapped_column(Float)
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """Append-only trail of every human action. Nothing updates or deletes these rows."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(400))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AnalysisResult(Base):
    """The latest analysis tables (effects, tracks, KPIs) as JSON records, for the review app."""

    __tablename__ = "analysis_results"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[Any] = mapped_column(JSON)


class CallSpeakers(Base):
    """How a mono call's voices were told apart and named: one row per diarized call.

    `rep_method` is voice_print, word_cues, none (voices left as speaker_1, speaker_2, ...) or
    coach (a reviewer swapped or named the voices); `rep_confidence` is that method's margin.
    `centroids` keeps each voice's mean embedding so a coach's correction can enrol the rep.
    """

    __tablename__ = "call_speakers"

    call_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("calls.call_id", ondelete="CASCADE"), primary_key=True
    )
    n_speakers: Mapped[int] = mapped_column(Integer, default=0)
    rep_method: Mapped[str] = mapped_column(String(16), default="none")
    rep_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    extractor: Mapped[str | None] = mapped_column(String(64))
    centroids: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class VoiceSample(Base):
    """One call's contribution to a rep's voice print: numbers as JSON with their SHA-256.

    source is dual_channel (the rep's own channel) or coach (a reviewer confirmed which voice
    of a mono call is the rep). A rep's print is the window-weighted mean of their samples.
    """

    __tablename__ = "voice_samples"
    __table_args__ = (UniqueConstraint("call_id", "extractor", name="uq_voice_samples_call"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rep_id: Mapped[str] = mapped_column(String(200), index=True)
    call_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(16))
    extractor: Mapped[str] = mapped_column(String(64))
    vector: Mapped[str] = mapped_column(Text)
    windows: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserRep(Base):
    """Links a user of role "rep" to the rep_id their calls carry: what that user may see."""

    __tablename__ = "user_reps"

    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    rep_id: Mapped[str] = mapped_column(String(200), index=True)


class Playlist(Base):
    """A named, ordered list of snippets a coach curates ("best referral asks this month")."""

    __tablename__ = "playlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlaylistShare(Base):
    """A playlist shared with a (rep) user, who may then play its snippets and nothing more."""

    __tablename__ = "playlist_shares"

    playlist_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("playlists.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class Snippet(Base):
    """A span of a call (seconds from its start) in a playlist, with a title and a note."""

    __tablename__ = "snippets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    playlist_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("playlists.id", ondelete="CASCADE"), index=True
    )
    call_id: Mapped[str] = mapped_column(
        String(200), ForeignKey("calls.call_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    title: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
