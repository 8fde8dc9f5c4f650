"""Queues: a DLQ each, enough visibility for their consumer, encryption, SSL only, the FIFO inbound."""

from __future__ import annotations

from aws_cdk.assertions import Match

from infra.cdk.queues import MAX_RECEIVE_COUNT, VISIBILITY_PER_FUNCTION_TIMEOUT
from tests.infra.synth import Synthesized


def _work_queues(synth: Synthesized) -> dict[str, dict]:
    """Queues that consume into a DLQ (every queue that is not itself a DLQ)."""
    return {
        qid: q["Properties"]
        for qid, q in synth.resources("AWS::SQS::Queue").items()
        if "RedrivePolicy" in q["Properties"]
    }


def _dead_letter_queue_ids(synth: Synthesized) -> set[str]:
    return {p["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] for p in _work_queues(synth).values()}


def test_every_queue_is_a_work_queue_or_a_dead_letter_queue(each_stage: Synthesized) -> None:
    queues = set(each_stage.resources("AWS::SQS::Queue"))
    work, dead = set(_work_queues(each_stage)), _dead_letter_queue_ids(each_stage)
    assert queues == work | dead
    assert len(work) == len(dead) == 6  # six queues, none sharing a DLQ
    assert not work & dead


def test_every_work_queue_parks_poison_messages_after_enough_retries(each_stage: Synthesized) -> None:
    for props in _work_queues(each_stage).values():
        assert props["RedrivePolicy"]["maxReceiveCount"] >= 5
        assert props["RedrivePolicy"]["maxReceiveCount"] == MAX_RECEIVE_COUNT


def test_visibility_timeout_is_at_least_six_times_the_consumers_timeout(each_stage: Synthesized) -> None:
    functions = each_stage.resources("AWS::Lambda::Function")
    mappings = [m["Properties"] for m in each_stage.resources("AWS::Lambda::EventSourceMapping").values()]
    queues = _work_queues(each_stage)
    assert {m["EventSourceArn"]["Fn::GetAtt"][0] for m in mappings} == set(queues)
    for mapping in mappings:
        queue = queues[mapping["EventSourceArn"]["Fn::GetAtt"][0]]
        timeout = functions[mapping["FunctionName"]["Ref"]]["Properties"]["Timeout"]
        assert queue["VisibilityTimeout"] >= VISIBILITY_PER_FUNCTION_TIMEOUT * timeout


def test_inbound_queue_is_fifo_with_a_fifo_dlq_and_producer_dedup_ids(prod: Synthesized) -> None:
    prod.template.has_resource_properties(
        "AWS::SQS::Queue",
        {
            "FifoQueue": True,
            "ContentBasedDeduplication": False,
            "RedrivePolicy": {"deadLetterTargetArn": Match.any_value(), "maxReceiveCount": MAX_RECEIVE_COUNT},
        },
    )
    fifo = {qid: p for qid, p in _work_queues(prod).items() if p.get("FifoQueue")}
    assert len(fifo) == 1, "exactly the inbound queue is FIFO"
    ((queue_id, props),) = fifo.items()
    assert queue_id.startswith("InboundQueue")
    assert props["ContentBasedDeduplication"] is False
    assert props["FifoThroughputLimit"] == "perMessageGroupId"
    dlq_id = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert prod.props(dlq_id)["FifoQueue"] is True


def test_every_queue_is_encrypted_and_refuses_plain_http(each_stage: Synthesized) -> None:
    for props in (q["Properties"] for q in each_stage.resources("AWS::SQS::Queue").values()):
        assert props["SqsManagedSseEnabled"] is True
    secured: set[str] = set()
    for policy in (p["Properties"] for p in each_stage.resources("AWS::SQS::QueuePolicy").values()):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Deny" and statement.get("Condition") == {
                "Bool": {"aws:SecureTransport": "false"}
            }:
                secured |= {queue["Ref"] for queue in policy["Queues"]}
    assert secured == set(each_stage.resources("AWS::SQS::Queue"))


def test_every_dead_letter_queue_raises_an_alarm_on_its_first_message(each_stage: Synthesized) -> None:
    watched = {
        dim["Value"]["Fn::GetAtt"][0]
        for alarm in (a["Properties"] for a in each_stage.resources("AWS::CloudWatch::Alarm").values())
        if alarm.get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and alarm["ComparisonOperator"] == "GreaterThanThreshold"
        and alarm["Threshold"] == 0
        and alarm["AlarmActions"]
        for dim in alarm["Dimensions"]
    }
    assert watched == _dead_letter_queue_ids(each_stage)
