"""Typed settings from the environment (SPEC §2).

Every deployable calls `get_settings()` at cold start; values a deployable cannot work without are
asked for through the section getters (`settings.twilio()`, `settings.crm()`...), which raise a
`ConfigError` naming every missing variable. Secrets are `SecretStr`: they never print.

A settings class is a frozen pydantic model; `from_environment` gives it the variables named after its
fields (case-insensitive, or the names a field's `validation_alias` lists). It replaces
pydantic-settings, whose import (with python-dotenv and argparse for its command-line source) every
Lambda paid at cold start for a job this small.
"""

# No `from __future__ import annotations` here: pydantic would compile and evaluate every field's
# annotation string when the class is created, at each cold start of every handler.
import json
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from typing import Literal, NamedTuple, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from shared.domain.errors import ConfigError, InvalidInput


class TwilioConfig(NamedTuple):
    account_sid: str
    auth_token: SecretStr
    phone_number: str
    api_base_url: str


class EvolutionConfig(NamedTuple):
    url: str
    api_key: SecretStr
    instance: str


class CrmConfig(NamedTuple):
    url: str
    api_key: SecretStr


class IxcConfig(NamedTuple):
    """IXC Soft: the host (the adapter adds `/webservice/v1/...`), the API user's numeric id and token."""

    url: str
    user_id: str
    token: SecretStr


class SgpConfig(NamedTuple):
    url: str  # the host; the adapter adds /api/ura/...
    token: SecretStr
    app: str  # case-sensitive: the wrong case gets HTTP 403


class HubsoftConfig(NamedTuple):
    url: str  # the tenant's API host; the adapter adds /oauth/token and /api/v1/...
    client_id: str
    client_secret: SecretStr
    username: str
    password: SecretStr


_Model = TypeVar("_Model", bound=BaseModel)


def from_environment(
    model: type[_Model], overrides: Mapping[str, str] | None = None, *, prefix: str = ""
) -> _Model:
    """`model` validated from the process environment: each field from the variable of its name
    after `prefix`, or from the first present of the names its `validation_alias` lists (names match
    in any case). `overrides` win over the environment. Invalid values raise pydantic's
    `ValidationError`."""
    found = {name.lower(): value for name, value in os.environ.items()}
    found |= {name.lower(): value for name, value in (overrides or {}).items()}
    values: dict[str, str] = {}
    for field_name, field in model.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            keys = [choice for choice in alias.choices if isinstance(choice, str)]
        elif isinstance(alias, str):
            keys = [alias]
        else:
            keys = [field_name]
        # The model is validated by its own keys (field name or alias); the variable carries the prefix.
        present = next((key for key in keys if (prefix + key).lower() in found), None)
        if present is not None:
            values[present] = found[(prefix + present).lower()]
    return model.model_validate(values)


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    # Who is collecting (CDC art. 42-A: every first message names the creditor).
    company_name: str = "TR Telecom"
    company_cnpj: str | None = None
    assistant_name: str = "Lia"
    cobranca_timezone: str = "America/Sao_Paulo"

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_phone_number: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"

    evolution_api_url: str | None = None
    evolution_api_key: SecretStr | None = None
    evolution_api_instance: str | None = None
    evolution_webhook_token: SecretStr | None = None
    # The instance's WhatsApp connection: `baileys` (WHATSAPP-BAILEYS, WhatsApp Web: free text) or
    # `cloud` (WHATSAPP-BUSINESS, Meta's Cloud API: business-initiated messages are approved templates,
    # free text only inside the 24 h window the customer's last message opened).
    evolution_integration: Literal["baileys", "cloud"] = "baileys"
    # The company's WhatsApp number (E.164), said to a caller who must write first on `cloud`; unset:
    # the caller is told to write to the number that called them.
    whatsapp_business_number: str | None = None

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4.1-mini"
    openai_realtime_model: str = "gpt-realtime"
    openai_realtime_url: str = "wss://api.openai.com/v1/realtime"

    webhook_base_url: str | None = None
    voice_bridge_ws_url: str | None = None
    # The desk's phone (E.164, "+55..."): a call the assistant hands over is dialed there, inside
    # HUMAN_AGENT_HOURS (weekdays, the customer's zone); otherwise the customer is offered a callback.
    human_agent_number: str | None = None
    human_agent_hours: str = "08:00-18:00"
    # The bridge's `/prepare`: told when a call's TwiML is fetched, it opens the call's Realtime
    # session before the stream starts (unset: the stream prepares its call itself).
    voice_bridge_prepare_url: str | None = None

    crm_api_url: str | None = None
    crm_api_key: SecretStr | None = None
    # Which billing system answers the engine: the generic CRM above, or an ISP ERP (its own section).
    billing_system: Literal["generic", "ixc", "sgp", "hubsoft"] = "generic"
    ixc_api_url: str | None = None
    ixc_api_user: str | None = None
    ixc_api_token: SecretStr | None = None

    sgp_api_url: str | None = None
    sgp_token: SecretStr | None = None
    sgp_app: str | None = None
    hubsoft_api_url: str | None = None
    hubsoft_client_id: str | None = None
    hubsoft_client_secret: SecretStr | None = None
    hubsoft_username: str | None = None
    hubsoft_password: SecretStr | None = None

    pix_key: str | None = None
    pix_merchant_name: str | None = None
    pix_merchant_city: str | None = None

    aws_endpoint_url: str | None = None
    # Wiring of this deployment (set by the CDK app, or by the local sandbox).
    scheduler_queue_url: str | None = None
    whatsapp_queue_url: str | None = None
    dialer_queue_url: str | None = None
    post_call_queue_url: str | None = None
    inbound_queue_url: str | None = None  # FIFO: one message group per chat
    promise_monitor_queue_url: str | None = None
    promise_monitor_queue_arn: str | None = None
    scheduler_group_name: str = "cobranca"
    scheduler_role_arn: str | None = None  # lets EventBridge Scheduler send to the monitor queue
    import_bucket: str | None = None
    max_upload_bytes: int = 10 * 1024 * 1024  # the synchronous multipart import
    # Presigned uploads processed by functions/ingest: ≈ 1M rows, what one 15-minute invocation writes.
    max_s3_upload_bytes: int = 100 * 1024 * 1024
    # Channel capacity: the scheduler paces work to it so queues stay short.
    whatsapp_messages_per_second: float = Field(default=1.0, gt=0, le=100)
    voice_calls_per_second: float = Field(default=1.0, gt=0, le=100)
    # ANATEL's abusive-calling measures: above this share of the day's calls lasting ≤ 6 s, dialing
    # slows to half the voice capacity and the ShortCallShareExceeded alarm fires.
    short_call_max_share: Decimal = Field(default=Decimal("0.30"), gt=0, le=1)
    aws_region: str = Field(
        default="sa-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    table_prefix: str = Field(default="cobranca", validation_alias="COBRANCA_TABLE_PREFIX")

    # Contact policy (SPEC §4): configurable, never unlimited.
    max_contacts_per_day: int = Field(default=1, ge=1, le=10)
    max_contacts_per_week: int = Field(default=3, ge=1, le=50)
    promise_max_days: int = Field(default=30, ge=1, le=365)
    # A campaign WhatsApp message unanswered this long ends its attempt like an unanswered call:
    # another message later, or the next channel of the campaign's fallback order.
    whatsapp_reply_hours: int = Field(default=24, ge=1, le=168)
    # A confirmed identity holds this long (and for one campaign contact): then the document is asked again.
    identity_ttl_hours: int = Field(default=24, ge=1, le=168)
    # A campaign WhatsApp message with no delivery receipt (DELIVERY_ACK / READ) this long ends its
    # attempt as `not_delivered`; keep it below WHATSAPP_REPLY_HOURS, which concludes first otherwise.
    whatsapp_delivery_hours: int = Field(default=6, ge=1, le=168)
    # The payment attribution window: a contacted case that ended unresolved (the cadence gave up, or the
    # customer opted out) has the CRM read once more this many days after it ended, and what it shows
    # paid then is money the collection recovered.
    late_payment_check_days: int = Field(default=7, ge=1, le=60)

    # "tokens": bearer tokens from COBRANCA_API_TOKENS ("role:token,role:token"), for the laptop;
    # "cognito": API Gateway's JWT authorizer has verified the token, the API reads its groups.
    cobranca_auth_mode: Literal["tokens", "cognito"] = "tokens"
    cobranca_api_tokens: SecretStr | None = None

    @field_validator("cobranca_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("whatsapp_business_number")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\+?55\d{10,11}", value):
            raise ValueError("expected a Brazilian number in E.164, e.g. +5511999998888")
        return value.lstrip("+") if value else value

    @field_validator("human_agent_hours")
    @classmethod
    def _agent_hours(cls, value: str) -> str:
        from shared.domain.agent_hours import parse_agent_hours  # the domain reads settings itself

        try:
            parse_agent_hours(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from exc
        return value

    @field_validator("sgp_api_url", "hubsoft_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s):// URL")
        return value

    @property
    def default_zone(self) -> ZoneInfo:
        return ZoneInfo(self.cobranca_timezone)

    def twilio(self) -> TwilioConfig:
        self._require("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_PHONE_NUMBER")
        assert self.twilio_account_sid and self.twilio_auth_token and self.twilio_phone_number
        return TwilioConfig(
            self.twilio_account_sid,
            self.twilio_auth_token,
            self.twilio_phone_number,
            self.twilio_api_base_url.rstrip("/"),
        )

    def evolution(self) -> EvolutionConfig:
        self._require("EVOLUTION_API_URL", "EVOLUTION_API_KEY", "EVOLUTION_API_INSTANCE")
        assert self.evolution_api_url and self.evolution_api_key and self.evolution_api_instance
        return EvolutionConfig(
            self.evolution_api_url.rstrip("/"), self.evolution_api_key, self.evolution_api_instance
        )

    def crm(self) -> CrmConfig:
        self._require("CRM_API_URL", "CRM_API_KEY")
        assert self.crm_api_url and self.crm_api_key
        return CrmConfig(self.crm_api_url.rstrip("/"), self.crm_api_key)

    def ixc(self) -> IxcConfig:
        self._require("IXC_API_URL", "IXC_API_USER", "IXC_API_TOKEN")
        assert self.ixc_api_url and self.ixc_api_user and self.ixc_api_token
        url = self.ixc_api_url.strip().rstrip("/").removesuffix("/webservice/v1")
        if not url.startswith(("https://", "http://")):
            raise ConfigError("IXC_API_URL must be the http(s) address of the IXC host")
        user = self.ixc_api_user.strip()
        if not user.isdigit():
            raise ConfigError("IXC_API_USER must be the numeric id of the IXC API user")
        return IxcConfig(url, user, self.ixc_api_token)

    def sgp(self) -> SgpConfig:
        self._require("SGP_API_URL", "SGP_TOKEN", "SGP_APP")
        assert self.sgp_api_url and self.sgp_token and self.sgp_app
        return SgpConfig(self.sgp_api_url.rstrip("/"), self.sgp_token, self.sgp_app)

    def hubsoft(self) -> HubsoftConfig:
        self._require(
            "HUBSOFT_API_URL",
            "HUBSOFT_CLIENT_ID",
            "HUBSOFT_CLIENT_SECRET",
            "HUBSOFT_USERNAME",
            "HUBSOFT_PASSWORD",
        )
        assert self.hubsoft_api_url and self.hubsoft_client_id and self.hubsoft_client_secret
        assert self.hubsoft_username and self.hubsoft_password
        return HubsoftConfig(
            self.hubsoft_api_url.rstrip("/"),
            self.hubsoft_client_id,
            self.hubsoft_client_secret,
            self.hubsoft_username,
            self.hubsoft_password,
        )

    def queue_url(self, queue: str) -> str:
        """The URL of one of this deployment's queues (`"whatsapp"`, `"dialer"`, ...)."""
        name = f"{queue}_queue_url"
        self._require(name.upper())
        return str(getattr(self, name))

    def _require(self, *env_names: str) -> None:
        missing = [name for name in env_names if getattr(self, name.lower()) in (None, "")]
        if missing:
            raise ConfigError(f"missing required environment variable(s): {', '.join(missing)}")


SECRETS_ARN_VARIABLE = "COBRANCA_SECRETS_ARN"


def _secrets_from_manager() -> dict[str, str]:
    """On AWS, credentials live in one Secrets Manager secret (a JSON object keyed by the variable
    names of SPEC §2, e.g. `{"TWILIO_AUTH_TOKEN": "..."}`), read at cold start — never in the
    template or plain environment variables."""
    arn = os.environ.get(SECRETS_ARN_VARIABLE)
    if not arn:
        return {}
    import boto3  # only deployments that use Secrets Manager pay for the import

    try:
        raw = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
        values = json.loads(raw)
    except Exception as exc:  # any failure here is a configuration failure
        raise ConfigError(
            f"cannot read the secrets in {SECRETS_ARN_VARIABLE}: {type(exc).__name__}"
        ) from None
    if not isinstance(values, dict):
        raise ConfigError(f"the secret in {SECRETS_ARN_VARIABLE} must be a JSON object")
    return {str(k).lower(): str(v) for k, v in values.items() if v not in (None, "")}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once. Invalid values raise `ConfigError` (never echoing secrets)."""
    try:
        return from_environment(Settings, _secrets_from_manager())
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from None


def reset_settings() -> None:
    """Forget the cached settings (tests and the sandbox change the environment)."""
    get_settings.cache_clear()
