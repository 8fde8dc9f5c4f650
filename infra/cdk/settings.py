"""What one deployment is: the CDK context (cdk.json defaults + `-c key=value`), read and validated once.

Two kinds of context keys:
- deployment keys in camelCase (`stage`, `lambdaAsset`, `certificateArn`, ...), read into
  `DeploymentSettings` fields;
- the application's non-secret settings under their environment variable names (`COMPANY_NAME`,
  `EVOLUTION_API_URL`, ...), passed through to the functions that read them (see `APP_SETTING_GROUPS`).

Secrets are never context: a secret's name given as a context key is refused, so a token can never end
up in cdk.json, the synthesized template or the CloudFormation console. They live in one Secrets
Manager secret (`SECRET_KEYS`), read by `shared/core/config.py` at cold start.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REGION = "sa-east-1"  # São Paulo: the customers, the CRM and the data stay in Brazil (LGPD)


# The retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = frozenset(
    (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
)


class Stage(StrEnum):
    DEV = "dev"
    PROD = "prod"


# The keys of the one Secrets Manager secret (a JSON object); `shared/core/config.py` maps them to settings.
SECRET_KEYS: tuple[str, ...] = (
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "EVOLUTION_API_KEY",
    "EVOLUTION_WEBHOOK_TOKEN",
    "OPENAI_API_KEY",
    "CRM_API_KEY",
)
# The ISP ERP's credentials (BILLING_SYSTEM): secrets too, in the same secret, but not in its placeholder
# map, which never changes after the first deployment (see `AppSecret`): an operator adds the keys of
# the ERP in use with put-secret-value (README, "Connecting your ERP").
ERP_SECRET_KEYS: tuple[str, ...] = ("IXC_API_TOKEN", "SGP_TOKEN", "HUBSOFT_CLIENT_SECRET", "HUBSOFT_PASSWORD")
ALL_SECRET_KEYS = frozenset(SECRET_KEYS + ERP_SECRET_KEYS)
BILLING_SYSTEMS = ("generic", "ixc", "sgp", "hubsoft")
EVOLUTION_INTEGRATIONS = ("baileys", "cloud")  # the instance's WhatsApp connection (README, Configuration)
# What production needs to reach each billing system (besides its secrets).
BILLING_REQUIRED_SETTINGS: Mapping[str, tuple[str, ...]] = {
    "generic": ("CRM_API_URL",),
    "ixc": ("IXC_API_URL", "IXC_API_USER"),
    "sgp": ("SGP_API_URL", "SGP_APP"),
    "hubsoft": ("HUBSOFT_API_URL", "HUBSOFT_CLIENT_ID", "HUBSOFT_USERNAME"),
}


class AppSettingGroup(StrEnum):
    """Who needs which non-secret setting: each function lists the groups it reads."""

    BUSINESS = "business"
    TWILIO = "twilio"
    EVOLUTION = "evolution"
    CRM = "crm"
    CHAT_MODEL = "chat_model"
    VOICE_MODEL = "voice_model"


APP_SETTING_GROUPS: Mapping[AppSettingGroup, tuple[str, ...]] = {
    # Every function may phrase a message, compute a contact window or apply the contact policy.
    AppSettingGroup.BUSINESS: (
        "COMPANY_NAME",
        "COMPANY_CNPJ",
        "ASSISTANT_NAME",
        "COBRANCA_TIMEZONE",
        "MAX_CONTACTS_PER_DAY",
        "MAX_CONTACTS_PER_WEEK",
        "PROMISE_MAX_DAYS",
        "WHATSAPP_REPLY_HOURS",
        "IDENTITY_TTL_HOURS",
        "WHATSAPP_DELIVERY_HOURS",
        "LATE_PAYMENT_CHECK_DAYS",
        "PIX_KEY",
        "PIX_MERCHANT_NAME",
        "PIX_MERCHANT_CITY",
    ),
    # The desk's phone and hours: the warm transfer of a call (the voice bridge, the keypad menu's API).
    AppSettingGroup.TWILIO: (
        "TWILIO_PHONE_NUMBER",
        "TWILIO_API_BASE_URL",
        "HUMAN_AGENT_NUMBER",
        "HUMAN_AGENT_HOURS",
        "WHATSAPP_BUSINESS_NUMBER",  # said to a caller who must write first (`cloud`, no 24 h window)
    ),
    AppSettingGroup.EVOLUTION: ("EVOLUTION_API_URL", "EVOLUTION_API_INSTANCE", "EVOLUTION_INTEGRATION"),
    # The billing system: the generic CRM or the ISP's ERP that BILLING_SYSTEM names.
    AppSettingGroup.CRM: (
        "BILLING_SYSTEM",
        "CRM_API_URL",
        "IXC_API_URL",
        "IXC_API_USER",
        "SGP_API_URL",
        "SGP_APP",
        "HUBSOFT_API_URL",
        "HUBSOFT_CLIENT_ID",
        "HUBSOFT_USERNAME",
    ),
    AppSettingGroup.CHAT_MODEL: ("OPENAI_MODEL", "OPENAI_BASE_URL"),
    AppSettingGroup.VOICE_MODEL: ("OPENAI_REALTIME_MODEL", "OPENAI_REALTIME_URL"),
}
APP_SETTING_KEYS = frozenset(key for keys in APP_SETTING_GROUPS.values() for key in keys)

# Production cannot collect without these: the creditor's identity (CDC art. 42-A), the channels,
# the billing system (`BILLING_REQUIRED_SETTINGS`), and a TLS certificate for the voice bridge (Twilio
# Media Streams only speak wss://).
PROD_REQUIRED_SETTINGS = (
    "COMPANY_NAME",
    "COMPANY_CNPJ",
    "TWILIO_PHONE_NUMBER",
    "EVOLUTION_API_URL",
    "EVOLUTION_API_INSTANCE",
)


# The deployment's own context keys (README, "Deploying to AWS", lists what each does).
CONTEXT_KEYS = frozenset(
    {
        "stage",
        "region",
        "lambdaAsset",
        "tablePrefix",
        "schedulerGroupName",
        "whatsappMessagesPerSecond",
        "voiceCallsPerSecond",
        "certificateArn",
        "voiceBridgeDomain",
        "dashboardOrigins",
        "alarmEmail",
        "cognitoDomainPrefix",
        "natGateways",
        "logLevel",
        "logRetentionDays",
    }
)


class ContextError(ValueError):
    """The CDK context is incomplete or wrong; the message says what to pass."""


@dataclass(frozen=True)
class DeploymentSettings:
    stage: Stage
    region: str
    account: str | None
    lambda_asset: Path
    table_prefix: str
    schedule_group_name: str
    whatsapp_messages_per_second: float
    voice_calls_per_second: float
    certificate_arn: str | None
    voice_bridge_domain: str | None
    dashboard_origins: tuple[str, ...]
    alarm_email: str | None
    cognito_domain_prefix: str | None
    nat_gateways: int
    log_level: str
    log_retention_days: int
    app_settings: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_prod(self) -> bool:
        return self.stage is Stage.PROD

    @property
    def stack_name(self) -> str:
        return f"Cobranca-{self.stage.value}"

    def settings_for(self, groups: tuple[AppSettingGroup, ...]) -> dict[str, str]:
        """The non-secret settings of `groups` that this deployment sets (unset ones keep the code's
        defaults)."""
        wanted = {key for group in groups for key in APP_SETTING_GROUPS[group]}
        return {key: value for key, value in self.app_settings.items() if key in wanted}

    @classmethod
    def from_context(
        cls,
        context: Mapping[str, Any],
        *,
        account: str | None = None,
        repo_root: Path = REPO_ROOT,
    ) -> DeploymentSettings:
        """Validate the context; raise `ContextError` naming every problem at once."""
        reader = _Reader(context)
        stage = reader.choice("stage", Stage, Stage.DEV)
        # prod keeps the spec's plain names; other stages get a suffix so they can share an account.
        default_name = "cobranca" if stage is Stage.PROD else f"cobranca-{stage.value}"
        asset = Path(reader.text("lambdaAsset", "build/lambda"))
        settings = cls(
            stage=stage,
            # Not the CLI profile's region: a profile left on us-east-1 must not move debtors' data
            # out of Brazil. Another region is a deliberate -c region=...
            region=reader.text("region", DEFAULT_REGION),
            account=account,
            lambda_asset=asset if asset.is_absolute() else repo_root / asset,
            table_prefix=reader.text("tablePrefix", default_name),
            schedule_group_name=reader.text("schedulerGroupName", default_name),
            whatsapp_messages_per_second=reader.rate("whatsappMessagesPerSecond"),
            voice_calls_per_second=reader.rate("voiceCallsPerSecond"),
            certificate_arn=reader.optional("certificateArn"),
            voice_bridge_domain=reader.optional("voiceBridgeDomain"),
            dashboard_origins=reader.origins("dashboardOrigins"),
            alarm_email=reader.optional("alarmEmail"),
            cognito_domain_prefix=reader.optional("cognitoDomainPrefix"),
            nat_gateways=reader.integer("natGateways", 1, minimum=1, maximum=3),
            log_level=reader.text("logLevel", "INFO").upper(),
            log_retention_days=reader.retention("logRetentionDays", 30),
            app_settings=reader.app_settings(),
        )
        reader.problems.extend(settings._consistency_problems())
        if reader.problems:
            raise ContextError("invalid CDK context:\n  - " + "\n  - ".join(reader.problems))
        return settings

    def _consistency_problems(self) -> list[str]:
        problems = []
        if bool(self.certificate_arn) != bool(self.voice_bridge_domain):
            problems.append(
                "certificateArn and voiceBridgeDomain go together: the certificate must cover the "
                "domain Twilio streams to (a DNS name pointing at the bridge's load balancer)"
            )
        billing = self.app_settings.get("BILLING_SYSTEM", "generic")
        if billing not in BILLING_SYSTEMS:
            problems.append(f"BILLING_SYSTEM must be one of {', '.join(BILLING_SYSTEMS)}, not {billing!r}")
        integration = self.app_settings.get("EVOLUTION_INTEGRATION", "baileys")
        if integration not in EVOLUTION_INTEGRATIONS:
            problems.append(
                f"EVOLUTION_INTEGRATION must be one of {', '.join(EVOLUTION_INTEGRATIONS)}, not {integration!r}"
            )
        if self.is_prod:
            required = PROD_REQUIRED_SETTINGS + BILLING_REQUIRED_SETTINGS.get(billing, ())
            missing = [key for key in required if not self.app_settings.get(key)]
            if not self.certificate_arn:
                missing += ["certificateArn", "voiceBridgeDomain"]
            if missing:
                problems.append(f"stage=prod needs -c for: {', '.join(missing)}")
        return problems


class _Reader:
    """Typed access to raw context values (strings from `-c`, JSON values from cdk.json)."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        self.context = context
        self.problems: list[str] = []

    def optional(self, key: str) -> str | None:
        value = self.context.get(key)
        if value is None:
            return None
        return str(value).strip() or None

    def text(self, key: str, default: str) -> str:
        return self.optional(key) or default

    def choice(self, key: str, kind: type[Stage], default: Stage) -> Stage:
        raw = self.optional(key)
        try:
            return kind(raw) if raw else default
        except ValueError:
            self.problems.append(f"{key} must be one of {', '.join(kind)}, not {raw!r}")
            return default

    def rate(self, key: str) -> float:
        raw = self.context.get(key, 1)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            value = math.nan
        if not 0 < value <= 100:  # the bounds shared/core/config.py accepts
            self.problems.append(f"{key} must be a number in (0, 100], not {raw!r}")
            return 1.0
        return value

    def integer(self, key: str, default: int, *, minimum: int, maximum: int) -> int:
        raw = self.context.get(key, default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            value = minimum - 1
        if not minimum <= value <= maximum:
            self.problems.append(f"{key} must be an integer in [{minimum}, {maximum}], not {raw!r}")
            return default
        return value

    def retention(self, key: str, default: int) -> int:
        value = self.integer(key, default, minimum=1, maximum=max(LOG_RETENTION_DAYS))
        if value not in LOG_RETENTION_DAYS:
            self.problems.append(f"{key} must be one of CloudWatch's {sorted(LOG_RETENTION_DAYS)}")
            return default
        return value

    def origins(self, key: str) -> tuple[str, ...]:
        raw = self.context.get(key) or ()
        items = raw.split(",") if isinstance(raw, str) else list(raw)
        origins = tuple(str(item).strip().rstrip("/") for item in items if str(item).strip())
        for origin in origins:
            if not origin.startswith("https://"):
                self.problems.append(f"{key}: {origin!r} is not an https:// origin")
        return origins

    def app_settings(self) -> dict[str, str]:
        leaked = sorted(key for key in self.context if key in ALL_SECRET_KEYS)
        if leaked:
            self.problems.append(
                f"{', '.join(leaked)} are secrets: put them in the Secrets Manager secret, never in the "
                "CDK context (see README, 'Deploying to AWS')"
            )
        return {
            key: str(value)
            for key, value in self.context.items()
            if key in APP_SETTING_KEYS and value is not None and str(value) != ""
        }
