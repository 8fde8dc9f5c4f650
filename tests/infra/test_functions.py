"""Every Lambda function: handler, runtime, architecture, tracing, logs, environment, event source."""

from __future__ import annotations

import math

import pytest
from aws_cdk.assertions import Match

from infra.cdk.functions import MIN_EVENT_SOURCE_CONCURRENCY
from infra.cdk.workers import ASSISTANT_TURN_SECONDS, SEND_SECONDS, function_specs
from infra.local.topology import QUEUES, QueueSpec
from shared.engine import outreach
from tests.infra.synth import VOICE_RATE, WHATSAPP_RATE, Synthesized

HANDLERS: dict[str, str | None] = {  # handler -> the queue it consumes
    "functions.api.handler.handler": None,
    "functions.ingest.handler.handler": None,
    "functions.scheduler.handler.handler": "scheduler",
    "functions.dialer.handler.handler": "dialer",
    "functions.whatsapp.handler.outreach_handler": "whatsapp",
    "functions.whatsapp.handler.inbound_handler": "inbound",
    "functions.post_call.handler.handler": "post_call",
    "functions.promise_monitor.handler.handler": "promise_monitor",
}


def _event_source(synth: Synthesized, function_id: str) -> dict:
    mappings = [
        props
        for props in (r["Properties"] for r in synth.resources("AWS::Lambda::EventSourceMapping").values())
        if props["FunctionName"] == {"Ref": function_id}
    ]
    assert len(mappings) == 1, f"{function_id} should consume exactly one queue"
    return mappings[0]


def _queue_url_variable(synth: Synthesized, queue_arn: dict) -> str:
    """Which *_QUEUE_URL variable (as the api function sees them) names the queue with this ARN."""
    queue_id = queue_arn["Fn::GetAtt"][0]
    _, api = synth.functions_by_handler()["functions.api.handler.handler"]
    names = [name for name, value in api["Environment"]["Variables"].items() if value == {"Ref": queue_id}]
    assert len(names) == 1
    return names[0]


def test_every_handler_is_one_python312_arm64_function_with_tracing(each_stage: Synthesized) -> None:
    assert set(each_stage.functions_by_handler()) == set(HANDLERS)
    for handler in HANDLERS:
        each_stage.template.has_resource_properties(
            "AWS::Lambda::Function",
            {
                "Handler": handler,
                "Runtime": "python3.12",
                "Architectures": ["arm64"],
                "TracingConfig": {"Mode": "Active"},
                "LoggingConfig": {"LogGroup": Match.any_value()},
            },
        )


def test_every_function_has_powertools_settings_and_a_retained_log_group(prod: Synthesized) -> None:
    log_groups = prod.resources("AWS::Logs::LogGroup")
    for handler, (_, props) in prod.functions_by_handler().items():
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Cobranca"
        assert env["POWERTOOLS_SERVICE_NAME"]
        assert env["LOG_LEVEL"] == "INFO"
        assert env["PYDANTIC_DISABLE_PLUGINS"] == "__all__"  # no entry-point scan at cold start
        log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert log_groups[log_group_id]["Properties"]["RetentionInDays"] == 30, handler


def test_service_names_are_distinct(prod: Synthesized) -> None:
    names = [
        p["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
        for _, p in prod.functions_by_handler().values()
    ]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("handler", [h for h, queue in HANDLERS.items() if queue])
def test_queue_consumers_report_batch_item_failures(each_stage: Synthesized, handler: str) -> None:
    function_id, _ = each_stage.functions_by_handler()[handler]
    mapping = _event_source(each_stage, function_id)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"]["MaximumConcurrency"] >= MIN_EVENT_SOURCE_CONCURRENCY
    expected = f"{str(HANDLERS[handler]).upper()}_QUEUE_URL"
    assert _queue_url_variable(each_stage, mapping["EventSourceArn"]) == expected


def test_channel_workers_concurrency_follows_the_channel_rates(prod: Synthesized) -> None:
    functions = prod.functions_by_handler()
    expected = {
        "functions.whatsapp.handler.outreach_handler": math.ceil(WHATSAPP_RATE * SEND_SECONDS),
        "functions.dialer.handler.handler": math.ceil(VOICE_RATE * SEND_SECONDS),
        "functions.whatsapp.handler.inbound_handler": math.ceil(WHATSAPP_RATE * ASSISTANT_TURN_SECONDS),
    }
    for handler, concurrency in expected.items():
        function_id, _ = functions[handler]
        assert _event_source(prod, function_id)["ScalingConfig"]["MaximumConcurrency"] == concurrency


def test_default_rates_keep_the_event_source_floor(dev: Synthesized) -> None:
    function_id, _ = dev.functions_by_handler()["functions.dialer.handler.handler"]
    assert (
        _event_source(dev, function_id)["ScalingConfig"]["MaximumConcurrency"] == MIN_EVENT_SOURCE_CONCURRENCY
    )


@pytest.mark.parametrize(
    "handler", ["functions.dialer.handler.handler", "functions.whatsapp.handler.outreach_handler"]
)
def test_outreach_workers_reserve_exactly_their_event_source_concurrency(
    prod: Synthesized, handler: str
) -> None:
    function_id, props = prod.functions_by_handler()[handler]
    mapping = _event_source(prod, function_id)
    assert props["ReservedConcurrentExecutions"] == mapping["ScalingConfig"]["MaximumConcurrency"]


def test_only_the_downstream_limited_workers_reserve_concurrency(prod: Synthesized) -> None:
    reserved = {h for h, (_, p) in prod.functions_by_handler().items() if "ReservedConcurrentExecutions" in p}
    assert reserved == {"functions.dialer.handler.handler", "functions.whatsapp.handler.outreach_handler"}


def test_ingest_is_notified_of_uploads_only(prod: Synthesized) -> None:
    ingest_id, _ = prod.functions_by_handler()["functions.ingest.handler.handler"]
    (notification,) = prod.resources("Custom::S3BucketNotifications").values()
    (config,) = notification["Properties"]["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    assert config["Events"] == ["s3:ObjectCreated:*"]
    assert config["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "uploads/"}]
    assert config["LambdaFunctionArn"] == {"Fn::GetAtt": [ingest_id, "Arn"]}


def test_rates_reach_the_scheduler_that_paces_the_channels(prod: Synthesized) -> None:
    _, scheduler = prod.functions_by_handler()["functions.scheduler.handler.handler"]
    env = scheduler["Environment"]["Variables"]
    assert float(env["WHATSAPP_MESSAGES_PER_SECOND"]) == WHATSAPP_RATE
    assert float(env["VOICE_CALLS_PER_SECOND"]) == VOICE_RATE


def test_functions_get_only_the_wiring_they_need(prod: Synthesized) -> None:
    env = {h: p["Environment"]["Variables"] for h, (_, p) in prod.functions_by_handler().items()}
    # The ingest worker reads the ERP (the rest of a sync): its wiring and credentials, nothing else.
    ingest = env["functions.ingest.handler.handler"]
    assert "COBRANCA_SECRETS_ARN" in ingest and ingest["CRM_API_URL"].startswith("https://")
    assert "TWILIO_PHONE_NUMBER" not in ingest and "EVOLUTION_API_URL" not in ingest
    # The scheduler's upkeep asks Twilio about calls whose final callback never came.
    scheduler = env["functions.scheduler.handler.handler"]
    assert "COBRANCA_SECRETS_ARN" in scheduler and "TWILIO_PHONE_NUMBER" in scheduler
    assert "POST_CALL_QUEUE_URL" in scheduler
    # A completed campaign's closing hands the rest of its cases to a continuation on its own queue.
    assert "SCHEDULER_QUEUE_URL" in scheduler
    # Its upkeep reads the billing system: the late payment checks of cases that ended unresolved.
    assert scheduler["CRM_API_URL"].startswith("https://")
    assert "IMPORT_BUCKET" not in env["functions.dialer.handler.handler"]
    assert "SCHEDULER_ROLE_ARN" not in env["functions.dialer.handler.handler"]
    assert env["functions.api.handler.handler"]["COBRANCA_AUTH_MODE"] == "cognito"
    assert "COBRANCA_AUTH_MODE" not in env["functions.dialer.handler.handler"]
    # Provider settings go to the functions that call the provider.
    assert env["functions.whatsapp.handler.outreach_handler"]["EVOLUTION_API_URL"].startswith("https://")
    assert "EVOLUTION_API_URL" not in env["functions.dialer.handler.handler"]
    assert env["functions.dialer.handler.handler"]["TWILIO_PHONE_NUMBER"] == "+551140000000"
    for handler in HANDLERS:
        assert env[handler]["COMPANY_NAME"] == "TR Telecom"


def test_promise_registering_functions_know_the_schedule_wiring(prod: Synthesized) -> None:
    env = {h: p["Environment"]["Variables"] for h, (_, p) in prod.functions_by_handler().items()}
    for handler in (
        "functions.api.handler.handler",
        "functions.whatsapp.handler.inbound_handler",
        "functions.promise_monitor.handler.handler",
    ):
        assert env[handler]["SCHEDULER_GROUP_NAME"] == "cobranca"
        assert "Fn::GetAtt" in env[handler]["SCHEDULER_ROLE_ARN"]
        assert "Fn::GetAtt" in env[handler]["PROMISE_MONITOR_QUEUE_ARN"]


def test_every_spec_is_deployed(prod: Synthesized) -> None:
    assert {spec.handler for spec in function_specs(prod.settings)} == set(HANDLERS)


@pytest.mark.parametrize("spec", QUEUES, ids=lambda spec: spec.name)
def test_the_sandbox_topology_describes_the_deployed_queues_and_consumers(
    prod: Synthesized, spec: QueueSpec
) -> None:
    # infra/local/topology.py is what the sandbox builds; it must say what the CDK deploys.
    function_id, props = prod.functions_by_handler()[spec.consumer]
    assert props["Timeout"] == spec.function_timeout_seconds
    mapping = _event_source(prod, function_id)
    assert mapping["BatchSize"] == spec.batch_size
    assert _queue_url_variable(prod, mapping["EventSourceArn"]) == spec.url_variable
    queue = prod.resources("AWS::SQS::Queue")[mapping["EventSourceArn"]["Fn::GetAtt"][0]]["Properties"]
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_seconds
    assert queue["RedrivePolicy"]["maxReceiveCount"] == spec.max_receive_count
    assert bool(queue.get("FifoQueue")) is spec.fifo


def test_a_claimed_send_outlives_no_outreach_worker(prod: Synthesized) -> None:
    """A redelivered job takes a claim older than SEND_WINDOW for a dead worker's: no outreach worker
    may still be sending by then."""
    workers = {spec.name: spec for spec in function_specs(prod.settings)}
    for name in ("whatsapp-outreach", "dialer"):
        assert workers[name].timeout_seconds <= outreach.SEND_WINDOW.total_seconds()
