"""The Fargate voice bridge: websocket-friendly ALB, draining, health, scaling, wiring."""

from __future__ import annotations

from infra.cdk.voice_bridge import HEALTH_PATH, PORT
from tests.infra.synth import BRIDGE_DOMAIN, CERTIFICATE_ARN, Synthesized


def _one(synth: Synthesized, resource_type: str) -> dict:
    (props,) = (r["Properties"] for r in synth.resources(resource_type).values())
    return props


def _attributes(props: dict, key: str) -> dict[str, str]:
    return {a["Key"]: a["Value"] for a in props[key]}


def test_the_load_balancer_keeps_quiet_calls_open_and_logs_access(each_stage: Synthesized) -> None:
    balancer = _one(each_stage, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = _attributes(balancer, "LoadBalancerAttributes")
    assert int(attributes["idle_timeout.timeout_seconds"]) >= 3600
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert balancer["Scheme"] == "internet-facing"


def test_prod_terminates_tls_with_the_given_certificate(prod: Synthesized) -> None:
    listener = _one(prod, "AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Protocol"] == "HTTPS" and listener["Port"] == 443
    assert listener["Certificates"] == [{"CertificateArn": CERTIFICATE_ARN}]
    assert listener["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")


def test_dev_without_a_certificate_listens_on_plain_http(dev: Synthesized) -> None:
    listener = _one(dev, "AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Protocol"] == "HTTP" and listener["Port"] == 80


def test_targets_are_health_checked_and_drained_before_they_stop(each_stage: Synthesized) -> None:
    group = _one(each_stage, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert group["HealthCheckPath"] == HEALTH_PATH
    assert group["Port"] == PORT and group["TargetType"] == "ip"
    drain = int(_attributes(group, "TargetGroupAttributes")["deregistration_delay.timeout_seconds"])
    assert drain >= 600, "live calls must be able to finish before a task is stopped"


def test_the_task_is_arm64_and_stops_gracefully(prod: Synthesized) -> None:
    task = _one(prod, "AWS::ECS::TaskDefinition")
    assert task["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    (container,) = task["ContainerDefinitions"]
    assert container["StopTimeout"] == 120
    assert container["PortMappings"][0]["ContainerPort"] == PORT
    assert HEALTH_PATH in " ".join(container["HealthCheck"]["Command"])
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"


def test_the_task_reads_credentials_from_the_secret_not_its_environment(prod: Synthesized) -> None:
    (secret_id,) = prod.resources("AWS::SecretsManager::Secret")
    (container,) = _one(prod, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["COBRANCA_SECRETS_ARN"] == {"Ref": secret_id}
    assert env["SCHEDULER_GROUP_NAME"] == "cobranca"
    assert env["COBRANCA_TABLE_PREFIX"] == "cobranca"
    assert not {"TWILIO_AUTH_TOKEN", "OPENAI_API_KEY", "CRM_API_KEY"} & env.keys()


def test_the_service_scales_on_cpu_and_on_new_calls(prod: Synthesized) -> None:
    metrics = {
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"][
            "PredefinedMetricType"
        ]
        for p in prod.resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    }
    assert metrics == {"ECSServiceAverageCPUUtilization", "ALBRequestCountPerTarget"}
    target = _one(prod, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["MinCapacity"] >= 2 and target["MaxCapacity"] > target["MinCapacity"]


def test_deploys_never_drop_below_the_wanted_task_count(prod: Synthesized) -> None:
    deployment = _one(prod, "AWS::ECS::Service")["DeploymentConfiguration"]
    assert deployment["MinimumHealthyPercent"] == 100
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_the_bridge_and_the_api_know_where_a_redirected_call_posts_and_the_desks_number(
    prod: Synthesized,
) -> None:
    (container,) = _one(prod, "AWS::ECS::TaskDefinition")["ContainerDefinitions"]
    bridge = {e["Name"]: e["Value"] for e in container["Environment"]}
    _, api = prod.functions_by_handler()["functions.api.handler.handler"]
    variables = api["Environment"]["Variables"]
    assert bridge["WEBHOOK_BASE_URL"] == variables["WEBHOOK_BASE_URL"]  # the API's public URL
    assert bridge["HUMAN_AGENT_NUMBER"] == variables["HUMAN_AGENT_NUMBER"] == "+551130000000"


def test_the_api_streams_calls_to_the_bridge_over_wss(prod: Synthesized) -> None:
    _, api = prod.functions_by_handler()["functions.api.handler.handler"]
    assert api["Environment"]["Variables"]["VOICE_BRIDGE_WS_URL"] == f"wss://{BRIDGE_DOMAIN}/media"
    # The TwiML endpoint tells the bridge a call was answered, over the same TLS listener.
    assert api["Environment"]["Variables"]["VOICE_BRIDGE_PREPARE_URL"] == f"https://{BRIDGE_DOMAIN}/prepare"


def test_the_dev_bridge_url_points_at_the_load_balancer(dev: Synthesized) -> None:
    _, api = dev.functions_by_handler()["functions.api.handler.handler"]
    url = api["Environment"]["Variables"]["VOICE_BRIDGE_WS_URL"]
    (balancer_id,) = dev.resources("AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert url == {"Fn::Join": ["", ["ws://", {"Fn::GetAtt": [balancer_id, "DNSName"]}, "/media"]]}
