"""Synthesizing the app for the infra tests, and reading the result (`Synthesized`)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

# jsii prints a banner about the Node version on every start; the tests do not need it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk import cx_api
from aws_cdk.assertions import Template

from infra.cdk.nag import apply_checks
from infra.cdk.settings import REPO_ROOT, SECRET_KEYS, DeploymentSettings
from infra.cdk.stack import CobrancaStack

ACCOUNT = "123456789012"
CERTIFICATE_ARN = f"arn:aws:acm:sa-east-1:{ACCOUNT}:certificate/0f1e2d3c-aaaa-bbbb-cccc-000000000000"
BRIDGE_DOMAIN = "voz.cobranca.example.com.br"
WHATSAPP_RATE = 5.0
VOICE_RATE = 2.0
# If any of these reached the template, a credential could reach CloudFormation.
SENTINELS = {key: f"sentinel-{key.lower()}-7f3a9c" for key in SECRET_KEYS}
PROD_CONTEXT = {
    "stage": "prod",
    "certificateArn": CERTIFICATE_ARN,
    "voiceBridgeDomain": BRIDGE_DOMAIN,
    "whatsappMessagesPerSecond": str(WHATSAPP_RATE),
    "voiceCallsPerSecond": VOICE_RATE,
    "alarmEmail": "ops@example.com.br",
    "dashboardOrigins": "https://cobranca.example.com.br",
    "COMPANY_NAME": "TR Telecom",
    "COMPANY_CNPJ": "11222333000181",
    "TWILIO_PHONE_NUMBER": "+551140000000",
    "HUMAN_AGENT_NUMBER": "+551130000000",
    "EVOLUTION_API_URL": "https://evolution.example.com.br",
    "EVOLUTION_API_INSTANCE": "cobranca",
    "CRM_API_URL": "https://crm.example.com.br/api",
    "OPENAI_MODEL": "gpt-4.1-mini",
}


@dataclass(frozen=True)
class Synthesized:
    """One synthesized stack: its full context, CloudFormation template and synthesis messages — all
    JSON, so one pytest-xdist worker can hand it to the others (see conftest)."""

    context: dict[str, Any]
    raw: dict[str, Any]
    messages: list[tuple[str, str, str]]  # see `messages()`

    @cached_property
    def settings(self) -> DeploymentSettings:
        return DeploymentSettings.from_context(self.context, account=ACCOUNT)

    @cached_property
    def template(self) -> Template:
        return Template.from_json(self.raw)

    def to_json(self) -> str:
        return json.dumps({"context": self.context, "raw": self.raw, "messages": self.messages})

    @classmethod
    def from_json(cls, text: str) -> Synthesized:
        data = json.loads(text)
        return cls(data["context"], data["raw"], [tuple(m) for m in data["messages"]])

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.raw["Resources"].items()
            if resource["Type"] == resource_type
        }

    def props(self, logical_id: str) -> dict[str, Any]:
        return self.raw["Resources"][logical_id].get("Properties", {})

    def functions_by_handler(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return {
            props["Handler"]: (logical_id, props)
            for logical_id, resource in self.resources("AWS::Lambda::Function").items()
            if "Handler" in (props := resource["Properties"]) and props["Handler"].startswith("functions.")
        }


def cdk_json_context() -> dict[str, Any]:
    """The feature flags of cdk.json: tests synthesize exactly what the CLI would."""
    return dict(json.loads((REPO_ROOT / "cdk.json").read_text())["context"])


def synthesize(context: dict[str, Any], lambda_asset: Path, outdir: Path) -> Synthesized:
    full_context = {
        **cdk_json_context(),
        # Keep cdk-nag's findings as annotations the tests can list (with the flag on, the first
        # error would abort synthesis before any test could say which rule failed).
        "@aws-cdk/core:annotationsInValidationReport": False,
        "lambdaAsset": str(lambda_asset),
        **context,
    }
    settings = DeploymentSettings.from_context(full_context, account=ACCOUNT)
    app = cdk.App(context=full_context, outdir=str(outdir))
    stack = CobrancaStack(
        app,
        settings.stack_name,
        settings=settings,
        env=cdk.Environment(account=ACCOUNT, region=settings.region),
    )
    apply_checks(app)
    artifact = app.synth().get_stack_artifact(stack.artifact_id)
    return Synthesized(full_context, artifact.template, messages(artifact))


def messages(artifact: cx_api.CloudFormationStackArtifact) -> list[tuple[str, str, str]]:
    """(level: "error" | "warning" | "info", construct path, text) of every synthesis message."""
    return [(str(m.level.value).lower(), m.id, str(m.entry.data)) for m in artifact.messages]
