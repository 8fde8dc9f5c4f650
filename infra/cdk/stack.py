"""`CobrancaStack`: the whole deployment, wired from the constructs of this package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from infra.cdk.access import Platform
from infra.cdk.alarms import FIVE_MINUTES, Alarms
from infra.cdk.api import AdminApi
from infra.cdk.app_secret import AppSecret
from infra.cdk.functions import METRICS_NAMESPACE, Endpoint, Worker
from infra.cdk.nag import justify
from infra.cdk.queues import QueueName, WorkQueue
from infra.cdk.scheduling import Scheduling
from infra.cdk.settings import REPO_ROOT, DeploymentSettings
from infra.cdk.storage import UPLOADS_PREFIX, Buckets
from infra.cdk.tables import DataTables
from infra.cdk.voice_bridge import VoiceBridge
from infra.cdk.workers import function_specs

# CDK's singleton behind S3 bucket notifications (a fixed id in aws-cdk-lib).
_NOTIFICATIONS_HANDLER_PREFIX = "BucketNotificationsHandler"


class LambdaAssetMissing(FileNotFoundError):
    """`make package` has not been run (or `lambdaAsset` points elsewhere)."""


def shared_code(path: Path) -> lambda_.Code:
    """The one code asset of every function: `shared/`, `functions/` and their dependencies."""
    missing = [name for name in ("shared", "functions") if not (path / name).is_dir()]
    if missing:
        raise LambdaAssetMissing(
            f"the Lambda code asset {path} has no {' or '.join(f'{name}/' for name in missing)} directory: run `make package` "
            "first (it builds build/lambda), or pass -c lambdaAsset=DIR"
        )
    return lambda_.Code.from_asset(str(path))


class CobrancaStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        build_context: Path = REPO_ROOT,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        Tags.of(self).add("project", "cobranca")
        Tags.of(self).add("stage", settings.stage.value)
        code = shared_code(settings.lambda_asset)
        removal = RemovalPolicy.RETAIN if settings.is_prod else RemovalPolicy.DESTROY
        specs = function_specs(settings)

        alarms = Alarms(self, "Alarms", email=settings.alarm_email)
        data = DataTables(self, "Tables", prefix=settings.table_prefix, production=settings.is_prod)
        credentials = AppSecret(self, "Credentials", production=settings.is_prod)
        consumer_timeouts = {spec.consumes.queue: spec.timeout for spec in specs if spec.consumes}
        queues = {
            name: WorkQueue(
                self,
                f"{_camel(name.value)}Queue",
                name=name,
                consumer_timeout=consumer_timeouts[name],
                alarms=alarms,
                removal_policy=removal,
            )
            for name in QueueName
        }
        api = AdminApi(self, "Api", settings=settings, alarms=alarms)
        buckets = Buckets(
            self,
            "Buckets",
            # The dashboard is served by the API itself; extra origins are custom domains in front of it.
            upload_origins=[api.url, *settings.dashboard_origins],
            production=settings.is_prod,
        )
        scheduling = Scheduling(
            self,
            "Scheduling",
            group_name=settings.schedule_group_name,
            tick_queue=queues[QueueName.SCHEDULER].queue,
            promise_queue=queues[QueueName.PROMISE_MONITOR].queue,
        )
        platform = Platform(
            tables=data.tables,
            table_prefix=settings.table_prefix,
            queues=queues,
            bucket=buckets.imports,
            secret=credentials.secret,
            scheduling=scheduling,
        )
        bridge = VoiceBridge(
            self,
            "VoiceBridge",
            settings=settings,
            platform=platform,
            alarms=alarms,
            access_logs=buckets.access_logs,
            build_context=build_context,
            webhook_base_url=api.url,
        )
        endpoints = {
            Endpoint.WEBHOOK_BASE: api.url,
            Endpoint.VOICE_BRIDGE: bridge.ws_url,
            Endpoint.VOICE_BRIDGE_PREPARE: bridge.prepare_url,
            Endpoint.SIGN_IN: api.sign_in_url,
            Endpoint.DASHBOARD_CLIENT: api.dashboard_client.user_pool_client_id,
        }
        self.workers = {
            spec.name: Worker(
                self,
                f"{_camel(spec.name)}Function",
                spec=spec,
                code=code,
                platform=platform,
                endpoints=endpoints,
                settings=settings,
                alarms=alarms,
                queue=queues[spec.consumes.queue].queue if spec.consumes else None,
            )
            for spec in specs
        }
        api.route_to(self.workers["api"].function)
        self._watch_short_calls(alarms)
        self._alarm_when_whatsapp_blocked(alarms, list(self.workers))
        self._notify_ingest(buckets.imports, self.workers["ingest"].function)

        self._outputs(
            {
                "ApiUrl": api.url,
                "DashboardUrl": f"{api.url}/voice/monitor",
                "EvolutionWebhookUrl": f"{api.url}/api/whatsapp/webhook",
                "TwilioStatusCallbackUrl": f"{api.url}/api/voice/webhooks/twilio/status",
                "VoiceBridgeUrl": bridge.ws_url,
                "VoiceBridgeLoadBalancerDns": bridge.load_balancer.load_balancer_dns_name,
                "UserPoolId": api.users.user_pool_id,
                "DashboardClientId": api.dashboard_client.user_pool_client_id,
                "SignInUrl": api.sign_in_url,
                "CredentialsSecretArn": credentials.secret.secret_arn,
                "ImportBucket": buckets.imports.bucket_name,
                "AlarmTopicArn": alarms.topic.topic_arn,
            }
        )

    def _watch_short_calls(self, alarms: Alarms) -> None:
        """ANATEL's abusive-calling measures: the post-call worker emits ShortCallShareExceeded when
        the day's calls of ≤ 6 s pass SHORT_CALL_MAX_SHARE (the sweep already dials at half speed)."""
        post_call = self.workers["post-call"]
        alarms.when_above(
            post_call,
            "ShortCallShareAlarm",
            cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name="ShortCallShareExceeded",
                dimensions_map={"service": "post-call"},
                period=FIVE_MINUTES,
                statistic="Sum",
            ),
            description="Too many short calls today (ANATEL): dialing is slowed; check AMD and the lists.",
        )

    def _alarm_when_whatsapp_blocked(self, alarms: Alarms, services: list[str]) -> None:
        """`WhatsAppChannelBlocked` (shared.engine.whatsapp_channel) counted by whichever function noticed
        the block (the webhook, the WhatsApp worker, the sweep's probe): one alarm on their sum."""
        blocked = cloudwatch.MathExpression(
            expression="SUM(METRICS())",
            using_metrics={
                f"m{index}": cloudwatch.Metric(
                    namespace=METRICS_NAMESPACE,
                    metric_name="WhatsAppChannelBlocked",
                    dimensions_map={"service": service},
                    statistic="Sum",
                    period=FIVE_MINUTES,
                )
                for index, service in enumerate(services)
            },
            period=FIVE_MINUTES,
            label="WhatsAppChannelBlocked",
        )
        alarms.when_above(
            self,
            "WhatsAppBlockedAlarm",
            blocked,
            description=(
                "WhatsApp outreach is paused: the Evolution instance disconnected or WhatsApp refused "
                "messages (463). See the dashboard's banner and the whatsapp_channel logs."
            ),
        )

    def _notify_ingest(self, bucket: s3.Bucket, ingest: lambda_.IFunction) -> None:
        bucket.add_event_notification(
            s3.EventType.OBJECT_CREATED,
            s3n.LambdaDestination(ingest),
            s3.NotificationKeyFilter(prefix=UPLOADS_PREFIX),
        )
        handler = next(
            child for child in self.node.children if child.node.id.startswith(_NOTIFICATIONS_HANDLER_PREFIX)
        )
        justify(
            handler,
            "IAM4",
            "CDK's own bucket-notification custom resource, run only during deployments: CDK gives its "
            "role AWSLambdaBasicExecutionRole (logs only); its other permission is PutBucketNotification "
            "on the import bucket alone.",
            applies_to=[_BASIC_EXECUTION_FINDING],
        )

    def _outputs(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            CfnOutput(self, name, value=value)


_BASIC_EXECUTION_FINDING = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_"))
