"""Least privilege and secret hygiene, checked on every policy statement of the template."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from infra.cdk.settings import SECRET_KEYS
from tests.infra.synth import SENTINELS, Synthesized

# Actions AWS only authorizes on Resource "*", each with why it is here.
STAR_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments": "Lambda active tracing; X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "Lambda active tracing; X-Ray has no resource-level permissions",
    "ecr:GetAuthorizationToken": "the bridge task pulls its image; the token call has no resource",
}


def _statements(synth: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every statement of every identity policy: AWS::IAM::Policy and roles' inline policies."""
    for policy_id, policy in synth.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            yield policy_id, statement
    for role_id, role in synth.resources("AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            for statement in inline["PolicyDocument"]["Statement"]:
                yield role_id, statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_star_resources_only_for_actions_aws_cannot_scope(each_stage: Synthesized) -> None:
    for owner, statement in _statements(each_stage):
        if "*" in _as_list(statement.get("Resource")):
            assert statement["Effect"] == "Allow"
            unjustified = set(_as_list(statement["Action"])) - STAR_RESOURCE_ACTIONS.keys()
            assert not unjustified, f"{owner}: {sorted(unjustified)} on Resource '*'"


def test_no_wildcard_actions(each_stage: Synthesized) -> None:
    for owner, statement in _statements(each_stage):
        for action in _as_list(statement["Action"]):
            assert "*" not in action, f"{owner}: wildcard action {action}"


def test_wildcards_in_resources_are_only_sub_resources_of_one_named_resource(each_stage: Synthesized) -> None:
    """`<table>/index/*`, `<bucket>/uploads/*`, `schedule/<group>/*`: never a whole service."""
    for owner, statement in _statements(each_stage):
        for resource in _as_list(statement.get("Resource")):
            text = json.dumps(resource)
            if resource == "*" or "*" not in text:
                continue
            allowed = (
                "/index/*",
                "/uploads/*",
                "/reports/*",
                f":schedule/{each_stage.settings.schedule_group_name}/*",
            )
            assert any(fragment in text for fragment in allowed), f"{owner}: {text}"


def test_no_role_uses_an_aws_managed_policy_except_cdk_s_deploy_time_helpers(each_stage: Synthesized) -> None:
    for role_id, role in each_stage.resources("AWS::IAM::Role").items():
        if role["Properties"].get("ManagedPolicyArns"):
            assert role_id.startswith(("BucketNotificationsHandler", "CustomVpcRestrictDefaultSG")), role_id


def test_no_secret_value_reaches_the_template(prod: Synthesized) -> None:
    text = json.dumps(prod.raw)
    for key, sentinel in SENTINELS.items():
        assert sentinel not in text, f"the value of {key} leaked into the template"


def test_the_secret_is_created_with_empty_placeholders_only(prod: Synthesized) -> None:
    (secret,) = (s["Properties"] for s in prod.resources("AWS::SecretsManager::Secret").values())
    assert json.loads(secret["SecretString"]) == dict.fromkeys(SECRET_KEYS, "")


def test_functions_get_the_secret_by_reference_and_can_read_only_that_secret(prod: Synthesized) -> None:
    (secret_id,) = prod.resources("AWS::SecretsManager::Secret")
    users = [
        p
        for _, p in prod.functions_by_handler().values()
        if "COBRANCA_SECRETS_ARN" in p["Environment"]["Variables"]
    ]
    assert users
    for props in users:
        assert props["Environment"]["Variables"]["COBRANCA_SECRETS_ARN"] == {"Ref": secret_id}
    for owner, statement in _statements(prod):
        if "secretsmanager:GetSecretValue" in _as_list(statement["Action"]):
            assert statement["Resource"] == {"Ref": secret_id}, owner
    for key in SECRET_KEYS:  # credentials are never plain environment variables
        for _, props in prod.functions_by_handler().values():
            assert key not in props["Environment"]["Variables"]
