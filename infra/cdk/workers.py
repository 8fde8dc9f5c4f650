"""The catalogue: every Lambda function and the voice bridge task, what they run and what they touch.

This is the file to read (and change) when a handler starts using another table or queue: its `Access`
becomes both its IAM grants and its environment (see `access.py`).
"""

from __future__ import annotations

from infra.cdk.access import Access, tables
from infra.cdk.functions import Channel, Consumer, Endpoint, FunctionSpec, Pace
from infra.cdk.queues import QueueName
from infra.cdk.settings import AppSettingGroup as G
from infra.cdk.settings import DeploymentSettings
from infra.cdk.storage import REPORTS_PREFIX, UPLOADS_PREFIX
from shared.data.schema import table_specs

# The data every pre-send guard reads (SPEC §4: opt-out → window → frequency cap → CRM → promise) and
# what taking a target writes (its state, the campaign's counters, the frequency-cap slot).
GUARD_READS = tables("optouts", "promises", "campaigns")
SEND_WRITES = tables("targets", "counters", "contact_log", "dedupe")
# A conversation with the assistant (WhatsApp turn or call): transcript, tools (promise, opt-out,
# payment claim, handoff), target outcome.
CONVERSATION_WRITES = tables(
    "conversations", "messages", "targets", "counters", "promises", "optouts", "dedupe"
)
# Derived from the data layer, like the tables themselves: a new table is covered without an edit here.
EVERY_TABLE = tables(*(spec.suffix for spec in table_specs()))

# Seconds one item holds a worker, for `Pace` (Little's law): a send is the guards (a few DynamoDB
# reads, one CRM call) plus the provider call; an assistant turn adds model round trips.
SEND_SECONDS = 2.0
ASSISTANT_TURN_SECONDS = 6.0
POST_CALL_SECONDS = 1.0


def function_specs(settings: DeploymentSettings) -> tuple[FunctionSpec, ...]:
    """Every Lambda function of the deployment."""
    rates = {
        "WHATSAPP_MESSAGES_PER_SECOND": str(settings.whatsapp_messages_per_second),
        "VOICE_CALLS_PER_SECOND": str(settings.voice_calls_per_second),
    }
    return (
        FunctionSpec(
            name="api",
            handler="functions.api.handler.handler",
            description="Admin API, webhooks and the dashboard (FastAPI via Mangum)",
            timeout_seconds=29,  # API Gateway's integration limit is 30 s
            memory_mb=1024,  # FastAPI + pydantic import time dominates cold starts; CPU scales with memory
            access=Access(
                # The admin plane reads and edits every resource of SPEC §5; the frequency cap's
                # ledger is only ever written by the senders.
                writes=EVERY_TABLE - {"contact_log"},
                reads=tables("contact_log"),
                # Twilio status → post-call; Evolution inbound → the per-chat FIFO; activation kicks
                # the scheduler at once instead of at the next tick.
                sends_to=(QueueName.SCHEDULER, QueueName.POST_CALL, QueueName.INBOUND),
                inspects_queues=True,
                bucket_reads=(REPORTS_PREFIX,),
                # Direct uploads and presigned PUTs; an ERP sync's first page: its rejected rows,
                # and the object that hands the rest to the ingest worker.
                bucket_writes=(UPLOADS_PREFIX, REPORTS_PREFIX),
                # Webhook signatures (Twilio auth token, Evolution webhook token); the ERP's credentials.
                secrets=True,
                schedules_promises=True,  # supervisors edit / cancel promises
            ),
            # The ERP sync reads the billing system; Evolution: connection.update names our instance, the
            # WhatsApp breaker probes it, the desk answers on WhatsApp, the campaign form lists the
            # approved templates and activation checks them (EVOLUTION_INTEGRATION).
            settings=(G.BUSINESS, G.TWILIO, G.CRM, G.EVOLUTION),
            endpoints=(
                Endpoint.WEBHOOK_BASE,
                Endpoint.VOICE_BRIDGE,
                Endpoint.VOICE_BRIDGE_PREPARE,
                Endpoint.SIGN_IN,
                Endpoint.DASHBOARD_CLIENT,
            ),
            extra_env={"COBRANCA_AUTH_MODE": "cognito"},
        ),
        FunctionSpec(
            name="ingest",
            handler="functions.ingest.handler.handler",
            description="S3 upload → parse CSV/XLSX → validated targets; the rest of an ERP sync",
            # Lambda's maximum: a file at MAX_S3_UPLOAD_BYTES (≈ 1M rows) is ≈ 40k BatchWriteItem requests.
            timeout_seconds=900,
            memory_mb=1769,  # one full vCPU: parsing is CPU-bound
            access=Access(
                writes=tables("imports", "targets", "counters", "phone_index", "dedupe"),
                reads=tables("campaigns"),
                # The rejected-rows report, read back by a resumed ERP sync; a sync longer than one
                # run hands on to the next by writing its continuation under uploads/.
                bucket_reads=(UPLOADS_PREFIX, REPORTS_PREFIX),
                bucket_writes=(REPORTS_PREFIX, UPLOADS_PREFIX),
                secrets=True,  # the ERP's credentials (ERP sync)
            ),
            settings=(G.BUSINESS, G.CRM),
        ),
        FunctionSpec(
            name="scheduler",
            handler="functions.scheduler.handler.handler",
            description="Tick / activation → upkeep of work in flight, then due targets onto the channel queues",
            timeout_seconds=120,
            memory_mb=512,
            access=Access(
                writes=tables("targets", "counters", "campaigns", "dedupe"),
                # Upkeep: a call whose final callback was lost is looked up in Twilio (auth token) and
                # its status handed to post-call; a missed promise check goes to the monitor. A
                # completed campaign's closing hands what its budget left to its own continuation.
                sends_to=(
                    QueueName.SCHEDULER,
                    QueueName.WHATSAPP,
                    QueueName.DIALER,
                    QueueName.POST_CALL,
                    QueueName.PROMISE_MONITOR,
                ),
                reads=tables("promises"),
                secrets=True,
            ),
            # WHATSAPP_REPLY_HOURS; Twilio's account; the billing system: upkeep's late payment checks;
            # Evolution: the sweep probes a blocked WhatsApp channel
            settings=(G.BUSINESS, G.TWILIO, G.CRM, G.EVOLUTION),
            consumes=Consumer(QueueName.SCHEDULER, batch_size=1),  # each message is a whole sweep
            extra_env=rates,
        ),
        FunctionSpec(
            name="dialer",
            handler="functions.dialer.handler.handler",
            description="Pre-send guards → Twilio call",
            timeout_seconds=30,
            memory_mb=512,
            access=Access(writes=SEND_WRITES, reads=GUARD_READS, secrets=True),
            settings=(G.BUSINESS, G.TWILIO, G.CRM),
            # Reserved: Twilio queues calls beyond the account's CPS and every answered call holds a
            # bridge session; a redrive or a backlog after a pause must not dial faster than that.
            consumes=Consumer(
                QueueName.DIALER, batch_size=1, pace=Pace(Channel.VOICE, SEND_SECONDS), reserve=True
            ),
            endpoints=(Endpoint.WEBHOOK_BASE,),
        ),
        FunctionSpec(
            name="whatsapp-outreach",
            handler="functions.whatsapp.handler.outreach_handler",
            description="Pre-send guards → Evolution sendText (first message of a campaign)",
            timeout_seconds=30,
            memory_mb=512,
            access=Access(
                writes=SEND_WRITES | tables("conversations", "messages"),
                reads=GUARD_READS,
                secrets=True,
                sends_to=(QueueName.DIALER,),  # not on WhatsApp → the call is queued at once
            ),
            settings=(G.BUSINESS, G.EVOLUTION, G.CRM),
            # Reserved: one Evolution instance is one WhatsApp number, and bursts above its pace get
            # the number flagged as spam and banned; the cap holds even when a backlog is redriven.
            consumes=Consumer(
                QueueName.WHATSAPP, batch_size=1, pace=Pace(Channel.WHATSAPP, SEND_SECONDS), reserve=True
            ),
        ),
        FunctionSpec(
            name="whatsapp-inbound",
            handler="functions.whatsapp.handler.inbound_handler",
            description="Inbound WhatsApp message → one assistant turn (FIFO per chat)",
            timeout_seconds=90,  # model round trips with tool calls
            memory_mb=1024,
            access=Access(
                writes=CONVERSATION_WRITES,
                reads=tables("campaigns", "contact_log"),
                secrets=True,
                schedules_promises=True,
            ),
            settings=(G.BUSINESS, G.EVOLUTION, G.CRM, G.CHAT_MODEL),
            # Replies leave through the same Evolution number: same pace, longer items.
            consumes=Consumer(
                QueueName.INBOUND, batch_size=1, pace=Pace(Channel.WHATSAPP, ASSISTANT_TURN_SECONDS)
            ),
        ),
        FunctionSpec(
            name="post-call",
            handler="functions.post_call.handler.handler",
            description="Twilio call status → outcome, retry, channel fallback",
            timeout_seconds=30,
            memory_mb=512,
            # Retries and fallbacks only set the target's next attempt: the scheduler dispatches it. A
            # recorded call's summary reads what its tools stored and is written on its conversation.
            access=Access(
                writes=tables("targets", "counters", "conversations"),
                reads=tables("campaigns", "promises", "optouts"),
                secrets=True,  # Twilio: hang up a call answered by a machine
            ),
            settings=(G.BUSINESS, G.TWILIO),
            consumes=Consumer(
                QueueName.POST_CALL, batch_size=10, pace=Pace(Channel.VOICE, POST_CALL_SECONDS)
            ),
            endpoints=(Endpoint.WEBHOOK_BASE,),
        ),
        FunctionSpec(
            name="promise-monitor",
            handler="functions.promise_monitor.handler.handler",
            description="Promise due → CRM check → fulfilled / checked again tomorrow / broken",
            timeout_seconds=60,
            memory_mb=512,
            access=Access(
                writes=tables("promises", "targets", "counters", "dedupe"),
                reads=tables("campaigns"),
                secrets=True,  # the CRM key
                schedules_promises=True,  # the next daily check
            ),
            settings=(G.BUSINESS, G.CRM),
            # Not urgent, and gentle on the ISP's CRM when a day's promises all fall due at midnight.
            consumes=Consumer(QueueName.PROMISE_MONITOR, batch_size=5),
        ),
    )


# The Fargate voice bridge: Twilio Media Streams ⇄ OpenAI Realtime, with the assistant's tools.
VOICE_BRIDGE_ACCESS = Access(
    writes=CONVERSATION_WRITES,
    reads=tables("campaigns", "contact_log"),
    secrets=True,
    schedules_promises=True,
)
# Evolution: the payment tool sends the Pix code / boleto to the caller's WhatsApp during the call.
VOICE_BRIDGE_SETTINGS = (G.BUSINESS, G.TWILIO, G.CRM, G.EVOLUTION, G.VOICE_MODEL)
