"""Alarms on every failure signal, all to one SSL-only topic; retention on every log group."""

from __future__ import annotations

from tests.infra.synth import Synthesized


def _alarms(synth: Synthesized) -> list[dict]:
    return [a["Properties"] for a in synth.resources("AWS::CloudWatch::Alarm").values()]


def test_every_alarm_notifies_the_alarm_topic(each_stage: Synthesized) -> None:
    (topic_id,) = each_stage.resources("AWS::SNS::Topic")
    for alarm in _alarms(each_stage):
        assert alarm["AlarmActions"] == [{"Ref": topic_id}]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_every_function_s_errors_raise_an_alarm(each_stage: Synthesized) -> None:
    watched = {
        dim["Value"]["Ref"]
        for alarm in _alarms(each_stage)
        if alarm.get("MetricName") == "Errors" and alarm["Namespace"] == "AWS/Lambda"
        for dim in alarm["Dimensions"]
    }
    assert watched == {function_id for function_id, _ in each_stage.functions_by_handler().values()}


def test_api_5xx_and_unhealthy_bridges_raise_alarms(each_stage: Synthesized) -> None:
    metrics = {(alarm.get("Namespace"), alarm.get("MetricName")) for alarm in _alarms(each_stage)}
    assert ("AWS/ApiGateway", "5xx") in metrics
    assert ("AWS/ApplicationELB", "UnHealthyHostCount") in metrics


def test_too_many_short_calls_raise_an_alarm_on_the_post_call_metric(each_stage: Synthesized) -> None:
    [alarm] = [a for a in _alarms(each_stage) if a.get("MetricName") == "ShortCallShareExceeded"]
    assert alarm["Namespace"] == "Cobranca"
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "post-call"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def test_a_blocked_whatsapp_channel_raises_an_alarm_whichever_function_noticed(
    each_stage: Synthesized,
) -> None:
    (alarm,) = (a for a in _alarms(each_stage) if "WhatsApp outreach is paused" in a["AlarmDescription"])
    watched = {
        query["MetricStat"]["Metric"]["Dimensions"][0]["Value"]
        for query in alarm["Metrics"]
        if "MetricStat" in query and query["MetricStat"]["Metric"]["MetricName"] == "WhatsAppChannelBlocked"
    }
    assert {"api", "whatsapp-outreach", "scheduler"} <= watched
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_the_alarm_topic_refuses_plain_http_and_mails_the_operators(prod: Synthesized) -> None:
    (topic_id,) = prod.resources("AWS::SNS::Topic")
    (policy,) = (p["Properties"] for p in prod.resources("AWS::SNS::TopicPolicy").values())
    assert policy["Topics"] == [{"Ref": topic_id}]
    assert any(
        s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["PolicyDocument"]["Statement"]
    )
    (subscription,) = (s["Properties"] for s in prod.resources("AWS::SNS::Subscription").values())
    assert subscription["Protocol"] == "email"


def test_every_log_group_has_a_retention(each_stage: Synthesized) -> None:
    for log_group_id, log_group in each_stage.resources("AWS::Logs::LogGroup").items():
        assert log_group["Properties"]["RetentionInDays"] == 30, log_group_id
