"""The CDK context, validated before anything is built: clear errors, no secrets, sane defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cdk.functions import MIN_EVENT_SOURCE_CONCURRENCY, Channel, Pace
from infra.cdk.lambda_package import NOT_ON_LAMBDA, runtime_requirements
from infra.cdk.settings import SECRET_KEYS, AppSettingGroup, ContextError, DeploymentSettings, Stage
from infra.cdk.stack import LambdaAssetMissing, shared_code
from tests.infra.synth import PROD_CONTEXT


def test_defaults_describe_a_dev_stack_with_suffixed_names() -> None:
    settings = DeploymentSettings.from_context({})
    assert settings.stage is Stage.DEV
    assert settings.table_prefix == settings.schedule_group_name == "cobranca-dev"
    assert settings.region == "sa-east-1"
    assert settings.whatsapp_messages_per_second == settings.voice_calls_per_second == 1.0
    assert settings.lambda_asset.parts[-2:] == ("build", "lambda")


def test_prod_keeps_the_plain_names() -> None:
    settings = DeploymentSettings.from_context(PROD_CONTEXT)
    assert settings.table_prefix == settings.schedule_group_name == "cobranca"


def test_prod_names_every_missing_setting_at_once() -> None:
    with pytest.raises(ContextError) as error:
        DeploymentSettings.from_context({"stage": "prod", "COMPANY_NAME": "TR Telecom"})
    message = str(error.value)
    for key in ("COMPANY_CNPJ", "EVOLUTION_API_URL", "CRM_API_URL", "certificateArn", "voiceBridgeDomain"):
        assert key in message
    assert "COMPANY_NAME," not in message


@pytest.mark.parametrize(
    "secret",
    ["TWILIO_AUTH_TOKEN", "OPENAI_API_KEY", "CRM_API_KEY", "IXC_API_TOKEN", "SGP_TOKEN", "HUBSOFT_PASSWORD"],
)
def test_a_secret_in_the_context_is_refused_without_echoing_it(secret: str) -> None:
    with pytest.raises(ContextError) as error:
        DeploymentSettings.from_context({secret: "sk-live-should-not-print"})
    assert secret in str(error.value)
    assert "sk-live-should-not-print" not in str(error.value)


@pytest.mark.parametrize(
    ("context", "complaint"),
    [
        ({"stage": "staging"}, "stage"),
        ({"whatsappMessagesPerSecond": "0"}, "whatsappMessagesPerSecond"),
        ({"voiceCallsPerSecond": "fast"}, "voiceCallsPerSecond"),
        ({"logRetentionDays": 31}, "logRetentionDays"),
        ({"certificateArn": "arn:aws:acm:sa-east-1:1:certificate/x"}, "voiceBridgeDomain"),
        ({"dashboardOrigins": "http://insecure.example.com"}, "dashboardOrigins"),
    ],
)
def test_bad_context_values_are_named(context: dict[str, object], complaint: str) -> None:
    with pytest.raises(ContextError, match=complaint):
        DeploymentSettings.from_context(context)


def test_prod_on_an_erp_needs_that_erps_settings_instead_of_the_crms() -> None:
    on_ixc = {k: v for k, v in PROD_CONTEXT.items() if k != "CRM_API_URL"} | {"BILLING_SYSTEM": "ixc"}
    with pytest.raises(ContextError) as error:
        DeploymentSettings.from_context(on_ixc)
    assert "IXC_API_URL, IXC_API_USER" in str(error.value) and "CRM_API_URL" not in str(error.value)

    settings = DeploymentSettings.from_context(
        on_ixc | {"IXC_API_URL": "https://ixc.provedor.com.br", "IXC_API_USER": "7"}
    )
    chosen = settings.settings_for((AppSettingGroup.CRM,))
    assert chosen == {
        "BILLING_SYSTEM": "ixc",
        "IXC_API_URL": "https://ixc.provedor.com.br",
        "IXC_API_USER": "7",
    }
    with pytest.raises(ContextError, match="BILLING_SYSTEM must be one of"):
        DeploymentSettings.from_context({"BILLING_SYSTEM": "mk"})


def test_the_secret_placeholders_never_change_after_the_first_deployment() -> None:
    # CloudFormation would overwrite the values filled in by hand: the ERP's keys are added by hand.
    assert SECRET_KEYS == (
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "EVOLUTION_API_KEY",
        "EVOLUTION_WEBHOOK_TOKEN",
        "OPENAI_API_KEY",
        "CRM_API_KEY",
    )


def test_functions_receive_only_their_groups_of_settings() -> None:
    settings = DeploymentSettings.from_context(PROD_CONTEXT)
    chosen = settings.settings_for((AppSettingGroup.BUSINESS, AppSettingGroup.CRM))
    assert chosen["CRM_API_URL"] == PROD_CONTEXT["CRM_API_URL"]
    assert "EVOLUTION_API_URL" not in chosen and "TWILIO_PHONE_NUMBER" not in chosen


@pytest.mark.parametrize(
    ("rate", "expected"), [(0.1, MIN_EVENT_SOURCE_CONCURRENCY), (1, 2), (5, 10), (7.5, 15)]
)
def test_concurrency_is_rate_times_seconds_per_item_with_the_aws_floor(rate: float, expected: int) -> None:
    settings = DeploymentSettings.from_context({"whatsappMessagesPerSecond": rate})
    assert Pace(Channel.WHATSAPP, seconds_per_item=2).concurrency(settings) == expected


def test_a_missing_lambda_asset_says_to_run_make_package(tmp_path: Path) -> None:
    with pytest.raises(LambdaAssetMissing, match="make package"):
        shared_code(tmp_path / "nowhere")


def test_lambda_package_installs_the_project_s_runtime_dependencies() -> None:
    names = " ".join(runtime_requirements())
    for needed in ("aws-lambda-powertools", "pynamodb", "mangum", "fastapi", "twilio", "openai"):
        assert needed in names
    assert not any(excluded in names for excluded in NOT_ON_LAMBDA)


def test_an_unknown_evolution_integration_is_refused() -> None:
    with pytest.raises(ContextError, match="EVOLUTION_INTEGRATION must be one of baileys, cloud"):
        DeploymentSettings.from_context({"EVOLUTION_INTEGRATION": "meta"})
