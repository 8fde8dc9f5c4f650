"""The voice bridge on Fargate (containers/voice_bridge) behind a websocket-friendly ALB.

Calls are long-lived websockets, which shapes everything here: an idle timeout of an hour, a
deregistration delay that lets live calls finish before a task is stopped (deploys and scale-in drain
instead of hanging up on customers), and scaling on new calls as well as on CPU.
"""

from __future__ import annotations

import math
from pathlib import Path

from aws_cdk import Duration, IgnoreMode, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.cdk.access import Platform
from infra.cdk.alarms import ONE_MINUTE, Alarms
from infra.cdk.functions import METRICS_NAMESPACE
from infra.cdk.log_groups import log_group
from infra.cdk.nag import justify
from infra.cdk.settings import DeploymentSettings
from infra.cdk.workers import VOICE_BRIDGE_ACCESS, VOICE_BRIDGE_SETTINGS

PORT = 8080
HEALTH_PATH = "/health"
MEDIA_PATH = "/media"
PREPARE_PATH = "/prepare"  # the TwiML endpoint tells the bridge a call was answered
# Twilio keeps a stream open for the whole call; the ALB must not cut a quiet line (its maximum is 4000 s).
IDLE_TIMEOUT = Duration.seconds(3600)
# After a task leaves the target group, ECS waits this long before SIGTERM: longer than a collection
# call lasts, so a deploy or a scale-in never drops a customer mid-sentence.
DRAIN = Duration.seconds(900)
# Then the bridge has Fargate's maximum stop timeout to close its sessions cleanly.
STOP_TIMEOUT = Duration.seconds(120)
# Sizing estimates for one 0.5 vCPU task relaying μ-law both ways without transcoding; revisit with a
# load test of the bridge. They set the scaling targets, not any hard limit.
CALLS_PER_TASK = 40
AVERAGE_CALL_SECONDS = 180
# Only what the image needs: the project metadata, `shared/` and the bridge. Changes anywhere else
# (tests, infra, handlers) do not rebuild the image.
BUILD_CONTEXT_INCLUDE = ["pyproject.toml", "README.md", "shared", "containers"]
DOCKERFILE = "containers/voice_bridge/Dockerfile"
HEALTH_COMMAND = (
    f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}{HEALTH_PATH}', timeout=3)"
)


class VoiceBridge(Construct):
    """VPC, cluster, service, ALB, scaling and alarms; `ws_url` is what TwiML streams to."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        platform: Platform,
        alarms: Alarms,
        access_logs: s3.IBucket,
        build_context: Path,
        webhook_base_url: str,
    ) -> None:
        super().__init__(scope, construct_id)
        vpc = self._network(settings)
        cluster = ecs.Cluster(self, "Cluster", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
        task = self._task(settings, platform, build_context, webhook_base_url)
        service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=task,
            desired_count=self._min_tasks(settings),
            # Never fewer healthy tasks than wanted during a deploy: new ones start before old ones drain.
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(rollback=True),
            health_check_grace_period=Duration.seconds(60),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
        )
        self.load_balancer, target_group = self._load_balancer(settings, vpc, service, access_logs)
        self._scaling(settings, service, target_group)
        alarms.when_above(
            self,
            "UnhealthyBridgesAlarm",
            target_group.metrics.unhealthy_host_count(period=ONE_MINUTE, statistic="Maximum"),
            description="A voice bridge task fails its /health check: calls may be failing.",
            periods=3,
        )
        host = settings.voice_bridge_domain or self.load_balancer.load_balancer_dns_name
        scheme = "wss" if settings.certificate_arn else "ws"
        self.ws_url = f"{scheme}://{host}{MEDIA_PATH}"
        self.prepare_url = f"{'https' if settings.certificate_arn else 'http'}://{host}{PREPARE_PATH}"

    def _network(self, settings: DeploymentSettings) -> ec2.Vpc:
        flow_logs = log_group(self, "FlowLogs", settings)
        vpc = ec2.Vpc(
            self,
            "Network",
            max_azs=2,
            # Tasks live in private subnets and reach OpenAI / the CRM through NAT; one gateway is the
            # cost-conscious default (natGateways=2 removes the single-AZ egress dependency).
            nat_gateways=settings.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name="tasks", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=22
                ),
            ],
            flow_logs={
                "Rejected": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.REJECT,  # what security groups turned away
                )
            },
        )
        # Free gateway endpoints: DynamoDB traffic and image layers (S3) skip the NAT's per-GB charge.
        vpc.add_gateway_endpoint("DynamoDb", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB)
        vpc.add_gateway_endpoint("S3", service=ec2.GatewayVpcEndpointAwsService.S3)
        return vpc

    def _task(
        self,
        settings: DeploymentSettings,
        platform: Platform,
        build_context: Path,
        webhook_base_url: str,
    ) -> ecs.FargateTaskDefinition:
        task = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=512,
            memory_limit_mib=1024,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,  # Graviton, like the functions
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        environment = platform.grant(VOICE_BRIDGE_ACCESS, task.task_role, task)
        task.add_container(
            "Bridge",
            image=ecs.ContainerImage.from_asset(
                str(build_context),
                file=DOCKERFILE,
                platform=ecr_assets.Platform.LINUX_ARM64,
                ignore_mode=IgnoreMode.DOCKER,
                exclude=["*", *(f"!{path}" for path in BUILD_CONTEXT_INCLUDE), "**/__pycache__"],
            ),
            port_mappings=[ecs.PortMapping(container_port=PORT)],
            logging=ecs.LogDriver.aws_logs(
                stream_prefix="bridge",
                log_group=log_group(self, "Logs", settings),
            ),
            health_check=ecs.HealthCheck(
                command=["CMD", "python", "-c", HEALTH_COMMAND],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(20),
            ),
            stop_timeout=STOP_TIMEOUT,
            environment={
                "POWERTOOLS_SERVICE_NAME": "voice-bridge",
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "LOG_LEVEL": settings.log_level,
                "AWS_REGION": Stack.of(self).region,
                # A call the bridge redirects (the warm transfer, the keypad menu) posts back to the API.
                "WEBHOOK_BASE_URL": webhook_base_url,
                **settings.settings_for(VOICE_BRIDGE_SETTINGS),
                **environment,
            },
        )
        justify(
            task,
            "ECS2",
            "The environment holds only non-secret wiring and settings (table prefix, queue ARN, company "
            "name, model); credentials are read from Secrets Manager at start (COBRANCA_SECRETS_ARN).",
        )
        justify(
            task,
            "IAM5",
            "ecr:GetAuthorizationToken (pulling the image) has no resource-level permissions: AWS "
            "requires Resource '*' for it.",
            applies_to=["Resource::*"],
        )
        return task

    def _load_balancer(
        self,
        settings: DeploymentSettings,
        vpc: ec2.IVpc,
        service: ecs.FargateService,
        access_logs: s3.IBucket,
    ) -> tuple[elbv2.ApplicationLoadBalancer, elbv2.ApplicationTargetGroup]:
        balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=True,
            idle_timeout=IDLE_TIMEOUT,
            drop_invalid_header_fields=True,
            deletion_protection=settings.is_prod,
        )
        balancer.log_access_logs(access_logs, prefix="alb/voice-bridge")
        if settings.certificate_arn:
            listener = balancer.add_listener(
                "Https",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[elbv2.ListenerCertificate.from_arn(settings.certificate_arn)],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            )
        else:
            # Without a certificate (a dev stack, `make synth`) the bridge answers plain ws:// on 80, which
            # Twilio will not stream to: voice calls need certificateArn. prod refuses to synthesize
            # without it (settings.py), so this branch never reaches production.
            listener = balancer.add_listener("Http", port=80, protocol=elbv2.ApplicationProtocol.HTTP)
        justify(
            balancer,
            "EC23",
            "Twilio Media Streams connect from Twilio's cloud, which publishes no fixed source range for "
            "them, so the listener must be open. The bridge trusts a stream only with the short-lived "
            "HMAC token our signed TwiML issued for that call (shared/adapters/stream_tokens.py).",
        )
        target_group = listener.add_targets(
            "Bridge",
            port=PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            targets=[service],
            deregistration_delay=DRAIN,
            health_check=elbv2.HealthCheck(
                path=HEALTH_PATH,
                interval=Duration.seconds(15),
                timeout=Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=3,
            ),
        )
        return balancer, target_group

    def _scaling(
        self,
        settings: DeploymentSettings,
        service: ecs.FargateService,
        target_group: elbv2.ApplicationTargetGroup,
    ) -> None:
        # Calls in flight at the configured call rate (Little's law), twice over for headroom.
        peak_calls = settings.voice_calls_per_second * AVERAGE_CALL_SECONDS
        maximum = max(self._min_tasks(settings) + 1, 2 * math.ceil(peak_calls / CALLS_PER_TASK))
        scaling = service.auto_scale_task_count(min_capacity=self._min_tasks(settings), max_capacity=maximum)
        # Slow scale-in: a task chosen to stop drains its calls for up to DRAIN first anyway.
        scale_in, scale_out = Duration.minutes(10), Duration.minutes(1)
        scaling.scale_on_cpu_utilization(
            "Cpu", target_utilization_percent=50, scale_in_cooldown=scale_in, scale_out_cooldown=scale_out
        )
        # Each call is one websocket upgrade, i.e. one ALB request: requests per target per minute are
        # new calls per task per minute, CALLS_PER_TASK / average minutes at the sizing estimate.
        scaling.scale_on_request_count(
            "NewCalls",
            requests_per_target=max(1, CALLS_PER_TASK * 60 // AVERAGE_CALL_SECONDS),
            target_group=target_group,
            scale_in_cooldown=scale_in,
            scale_out_cooldown=scale_out,
        )

    @staticmethod
    def _min_tasks(settings: DeploymentSettings) -> int:
        # prod: one task per AZ, so losing a task or a zone never stops every call at once.
        return 2 if settings.is_prod else 1
