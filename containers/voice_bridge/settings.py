"""The bridge's own settings (environment, prefix `VOICE_BRIDGE_`), beside the project's
`shared.core.config.Settings` (Twilio, OpenAI, company...). Every value has a documented default."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from containers.voice_bridge.realtime_codec import VoiceTuning
from shared.core.config import from_environment, get_settings
from shared.domain.errors import ConfigError


class BridgeSettings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=0, le=65535)
    # A collection call never needs more; the line is hung up after this.
    max_call_seconds: float = Field(default=600.0, gt=0)
    # SIGTERM: live calls may finish for this long (below the task's 120 s stop timeout), then end.
    drain_seconds: float = Field(default=110.0, ge=0)
    # Twilio sends `start` right after the upgrade; a socket that does not is closed.
    start_timeout_seconds: float = Field(default=10.0, gt=0)
    realtime_connect_timeout_seconds: float = Field(default=10.0, gt=0)
    # Realtime dropping this soon after the call started, before Lia said anything, counts as down:
    # the call goes on in the keypad menu (`shared.engine.voice_menu`) instead of being hung up.
    realtime_fallback_seconds: float = Field(default=5.0, ge=0)
    # A call prepared when its TwiML was fetched waits this long for its stream, then is closed.
    prepare_ttl_seconds: float = Field(default=30.0, gt=0)
    # After `encerrar_chamada`: the goodbye still playing may take this long before the line drops.
    goodbye_grace_seconds: float = Field(default=10.0, gt=0)
    # A tool call waits this long for the customer's words still being transcribed (identity check).
    transcript_wait_seconds: float = Field(default=3.0, ge=0)
    # Audio Twilio sends before the Realtime session is configured is kept (20 ms frames; 100 = 2 s).
    early_audio_frames: int = Field(default=100, ge=0)
    voice: str = "marin"
    vad_threshold: float = Field(default=0.6, ge=0, le=1)
    vad_prefix_padding_ms: int = Field(default=300, ge=0)
    vad_silence_duration_ms: int = Field(default=500, ge=100)
    transcription_model: str = "gpt-4o-mini-transcribe"

    @property
    def tuning(self) -> VoiceTuning:
        return VoiceTuning(
            voice=self.voice,
            vad_threshold=self.vad_threshold,
            prefix_padding_ms=self.vad_prefix_padding_ms,
            silence_duration_ms=self.vad_silence_duration_ms,
            transcription_model=self.transcription_model,
        )


@lru_cache(maxsize=1)
def get_bridge_settings() -> BridgeSettings:
    return from_environment(BridgeSettings, prefix="VOICE_BRIDGE_")


def reset_bridge_settings() -> None:
    get_bridge_settings.cache_clear()


def require_runtime_config() -> None:
    """At start: the variables a call cannot work without (`ConfigError` naming the missing ones)."""
    settings = get_settings()
    settings.twilio()  # stream tokens and hang-up
    if settings.openai_api_key is None or not settings.openai_api_key.get_secret_value():
        raise ConfigError("missing required environment variable(s): OPENAI_API_KEY")
