"""The import bucket, and EventBridge Scheduler: the business-hours tick and the promise group."""

from __future__ import annotations

import json

from tests.infra.synth import ACCOUNT, Synthesized


def _imports_bucket(synth: Synthesized) -> tuple[str, dict]:
    ((bucket_id, bucket),) = (
        (bid, b["Properties"])
        for bid, b in synth.resources("AWS::S3::Bucket").items()
        if bid.startswith("BucketsImports")
    )
    return bucket_id, bucket


def test_every_bucket_is_private_encrypted_and_ssl_only(each_stage: Synthesized) -> None:
    buckets = each_stage.resources("AWS::S3::Bucket")
    for props in (b["Properties"] for b in buckets.values()):
        assert all(props["PublicAccessBlockConfiguration"].values())
        rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    ssl_only = {
        policy["Bucket"]["Ref"]
        for policy in (p["Properties"] for p in each_stage.resources("AWS::S3::BucketPolicy").values())
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    }
    assert ssl_only == set(buckets)


def test_uploaded_spreadsheets_and_reports_expire(prod: Synthesized) -> None:
    _, bucket = _imports_bucket(prod)
    expiring = {
        rule["Prefix"]: rule["ExpirationInDays"]
        for rule in bucket["LifecycleConfiguration"]["Rules"]
        if "Prefix" in rule and "ExpirationInDays" in rule
    }
    assert set(expiring) == {"uploads/", "reports/"}
    assert all(0 < days <= 90 for days in expiring.values())
    assert "DestinationBucketName" in bucket["LoggingConfiguration"]


def test_the_tick_wakes_the_scheduler_queue_in_sao_paulo_business_hours(each_stage: Synthesized) -> None:
    each_stage.template.has_resource_properties(
        "AWS::Scheduler::Schedule",
        {
            "ScheduleExpression": "cron(0/5 8-21 ? * MON-SAT *)",
            "ScheduleExpressionTimezone": "America/Sao_Paulo",
            "FlexibleTimeWindow": {"Mode": "OFF"},
        },
    )
    (schedule,) = (s["Properties"] for s in each_stage.resources("AWS::Scheduler::Schedule").values())
    assert schedule["ScheduleExpression"] == "cron(0/5 8-21 ? * MON-SAT *)"
    assert schedule["ScheduleExpressionTimezone"] == "America/Sao_Paulo"
    assert schedule["GroupName"] == each_stage.settings.schedule_group_name
    target = schedule["Target"]
    assert json.loads(target["Input"]) == {"reason": "tick"}
    scheduler_id, _ = each_stage.functions_by_handler()["functions.scheduler.handler.handler"]
    (consumed,) = (
        m["Properties"]["EventSourceArn"]
        for m in each_stage.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": scheduler_id}
    )
    assert target["Arn"] == consumed


def test_the_promise_group_exists_under_the_configured_name(prod: Synthesized) -> None:
    (group,) = (g["Properties"] for g in prod.resources("AWS::Scheduler::ScheduleGroup").values())
    assert group["Name"] == "cobranca"


def _role_policies(synth: Synthesized, role_id: str) -> list[dict]:
    return [
        statement
        for policy in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_the_promise_role_can_only_send_to_the_monitor_queue_for_this_account(prod: Synthesized) -> None:
    _, api = prod.functions_by_handler()["functions.api.handler.handler"]
    role_id = api["Environment"]["Variables"]["SCHEDULER_ROLE_ARN"]["Fn::GetAtt"][0]
    role = prod.props(role_id)
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    (statement,) = _role_policies(prod, role_id)
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == api["Environment"]["Variables"]["PROMISE_MONITOR_QUEUE_ARN"]


def test_promise_registrars_manage_schedules_only_in_the_group_and_pass_only_that_role(
    prod: Synthesized,
) -> None:
    _, api = prod.functions_by_handler()["functions.api.handler.handler"]
    promise_role = api["Environment"]["Variables"]["SCHEDULER_ROLE_ARN"]
    scheduler_statements = [
        s
        for policy in prod.resources("AWS::IAM::Policy").values()
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(str(a).startswith(("scheduler:", "iam:PassRole")) for a in _as_list(s["Action"]))
    ]
    assert scheduler_statements
    for statement in scheduler_statements:
        if statement["Action"] == "iam:PassRole":
            assert statement["Resource"] == promise_role
            assert statement["Condition"] == {
                "StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}
            }
        else:
            assert set(statement["Action"]) == {
                "scheduler:CreateSchedule",
                "scheduler:GetSchedule",
                "scheduler:DeleteSchedule",
            }
            assert statement["Resource"] == f"arn:aws:scheduler:sa-east-1:{ACCOUNT}:schedule/cobranca/*"


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]
