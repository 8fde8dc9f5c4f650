"""The public API: API Gateway HTTP API in front of the api function, Cognito for the people.

Every route needs a Cognito JWT (the `$default` route, checked by API Gateway) except the few that
outside systems or a browser without a token must reach; those are validated in code (Twilio's
signature, Evolution's webhook token) or serve only static dashboard files.
"""

from __future__ import annotations

import json

from aws_cdk import Aws, Duration, Fn, RemovalPolicy
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.cdk.alarms import FIVE_MINUTES, Alarms
from infra.cdk.log_groups import log_group
from infra.cdk.nag import justify
from infra.cdk.settings import DeploymentSettings

GROUPS = {  # Cognito group → what it may do (SPEC §5); the API reads `cognito:groups`
    "viewer": "Read campaigns, targets, promises, conversations and metrics",
    "supervisor": "Viewer + activate/pause campaigns, transfer conversations, update promises",
    "admin": "Supervisor + create/delete campaigns and import targets",
}
# (path, methods, why it may skip the JWT authorizer)
PUBLIC_ROUTES: tuple[tuple[str, tuple[apigwv2.HttpMethod, ...], str], ...] = (
    (
        "/api/whatsapp/webhook",
        (apigwv2.HttpMethod.POST,),
        "Evolution API's webhook cannot send a Cognito token; the code requires EVOLUTION_WEBHOOK_TOKEN.",
    ),
    (
        "/api/voice/webhooks/twilio/status",
        (apigwv2.HttpMethod.POST,),
        "Twilio's status callbacks carry no Cognito token; the code rejects any request without a valid "
        "X-Twilio-Signature (403).",
    ),
    (
        "/api/voice/webhooks/twilio/recording",
        (apigwv2.HttpMethod.POST,),
        "Twilio's recording-status callbacks carry no Cognito token; the code rejects any request without "
        "a valid X-Twilio-Signature (403).",
    ),
    (
        "/api/voice/twiml/{targetId}",
        (apigwv2.HttpMethod.GET, apigwv2.HttpMethod.POST),
        "Twilio fetches the call's TwiML without a Cognito token; the code validates X-Twilio-Signature.",
    ),
    (
        "/api/voice/transfer/{conversationId}/status",
        (apigwv2.HttpMethod.POST,),
        "Twilio posts the warm transfer's <Dial action> without a Cognito token; the code validates "
        "X-Twilio-Signature.",
    ),
    (
        "/api/voice/transfer/{conversationId}/whisper",
        (apigwv2.HttpMethod.POST,),
        "Twilio fetches the agent's whisper TwiML without a Cognito token; the code validates "
        "X-Twilio-Signature.",
    ),
    (
        "/api/voice/menu/{conversationId}/{step}",
        (apigwv2.HttpMethod.POST,),
        "Twilio posts the keypad menu's <Gather> digits without a Cognito token; the code validates "
        "X-Twilio-Signature.",
    ),
    (
        "/voice/monitor",
        (apigwv2.HttpMethod.GET,),
        "The dashboard page must load before the supervisor signs in; it holds no data, every API call "
        "it makes carries the supervisor's JWT.",
    ),
    (
        "/voice/monitor/{proxy+}",
        (apigwv2.HttpMethod.GET,),
        "The dashboard's static assets (scripts, styles), loaded before sign-in; no data.",
    ),
)
# Route key, status and timings only: paths and query strings can carry a CPF (`contactDocument`).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
}


class AdminApi(Construct):
    """User pool (+ groups, dashboard client) and the HTTP API; `route_to()` attaches the function."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: DeploymentSettings, alarms: Alarms
    ) -> None:
        super().__init__(scope, construct_id)
        self.users = cognito.UserPool(
            self,
            "Users",
            self_sign_up_enabled=False,  # an admin creates every account
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=12,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            # Supervisors see debtors' personal data (LGPD): a second factor is mandatory.
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Plus tier: compromised-credential and adaptive sign-in protection, for a handful of users.
            feature_plan=cognito.FeaturePlan.PLUS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION,
            deletion_protection=settings.is_prod,
            removal_policy=RemovalPolicy.RETAIN if settings.is_prod else RemovalPolicy.DESTROY,
        )
        for precedence, (group, description) in enumerate(reversed(GROUPS.items())):
            cognito.CfnUserPoolGroup(
                self,
                f"{group.capitalize()}Group",
                user_pool_id=self.users.user_pool_id,
                group_name=group,
                description=description,
                precedence=precedence,  # admin first: the strongest role wins in the token
            )
        self.http_api = apigwv2.HttpApi(
            self, "Http", description="Cobrança: admin API, provider webhooks, supervisor dashboard"
        )
        # The dashboard signs in through Cognito's hosted UI (authorization code + PKCE) and comes back
        # to its own page; functions/api/routes/dashboard.py reads COGNITO_DOMAIN / COGNITO_CLIENT_ID.
        self.sign_in = self.users.add_domain(
            "SignIn",
            cognito_domain=cognito.CognitoDomainOptions(domain_prefix=_domain_prefix(settings)),
        )
        dashboard = f"{self.url}/voice/monitor"
        dashboards = [dashboard, *(f"{origin}/voice/monitor" for origin in settings.dashboard_origins)]
        self.dashboard_client = self.users.add_client(
            "Dashboard",
            generate_secret=False,  # a browser app cannot keep a secret: PKCE instead
            auth_flows=cognito.AuthFlow(user_srp=True),  # SRP never sends the password (CLI, tests)
            o_auth=cognito.OAuthSettings(
                flows=cognito.OAuthFlows(authorization_code_grant=True),
                scopes=[cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
                callback_urls=dashboards,
                logout_urls=dashboards,
            ),
            supported_identity_providers=[cognito.UserPoolClientIdentityProvider.COGNITO],
            prevent_user_existence_errors=True,
            access_token_validity=Duration.hours(1),
            id_token_validity=Duration.hours(1),
            refresh_token_validity=Duration.hours(12),  # one working day
        )
        self.authorizer = authorizers.HttpUserPoolAuthorizer(
            "Cognito", self.users, user_pool_clients=[self.dashboard_client]
        )
        self._log_access(settings)
        alarms.when_above(
            self,
            "ServerErrorsAlarm",
            self.http_api.metric_server_error(period=FIVE_MINUTES, statistic="Sum"),
            description="The API answered 5xx (bad input must be 4xx, SPEC §5): a bug or a dependency down.",
        )

    @property
    def url(self) -> str:
        """The API's public base URL, without a trailing slash (WEBHOOK_BASE_URL)."""
        return self.http_api.api_endpoint

    @property
    def sign_in_url(self) -> str:
        """The hosted UI's base URL (COGNITO_DOMAIN)."""
        return self.sign_in.base_url()

    def route_to(self, function: lambda_.IFunction) -> None:
        """Send every request to `function`: `$default` behind the JWT authorizer, the webhooks and the
        dashboard's page and assets without it."""
        integration = integrations.HttpLambdaIntegration("Function", function)
        apigwv2.HttpRoute(
            self,
            "Default",
            http_api=self.http_api,
            route_key=apigwv2.HttpRouteKey.DEFAULT,
            integration=integration,
            authorizer=self.authorizer,
        )
        for path, methods, reason in PUBLIC_ROUTES:
            for route in self.http_api.add_routes(
                path=path,
                methods=list(methods),
                integration=integration,
                authorizer=apigwv2.HttpNoneAuthorizer(),
            ):
                justify(route, "APIG4", reason)

    def _log_access(self, settings: DeploymentSettings) -> None:
        access_logs = log_group(self, "AccessLogs", settings)
        stage = self.http_api.default_stage
        assert stage is not None
        cfn_stage = stage.node.default_child
        assert isinstance(cfn_stage, apigwv2.CfnStage)
        cfn_stage.access_log_settings = apigwv2.CfnStage.AccessLogSettingsProperty(
            destination_arn=access_logs.log_group_arn, format=json.dumps(ACCESS_LOG_FORMAT)
        )
        # A ceiling against floods and runaway webhook retries; far above what the dashboard and the
        # providers' callbacks need.
        cfn_stage.default_route_settings = apigwv2.CfnStage.RouteSettingsProperty(
            throttling_burst_limit=200, throttling_rate_limit=100
        )


def _domain_prefix(settings: DeploymentSettings) -> str:
    """Hosted-UI prefixes are global per region: `cognitoDomainPrefix`, else one made unique by the
    account id."""
    if settings.cognito_domain_prefix:
        return settings.cognito_domain_prefix
    return Fn.join("-", ["cobranca", settings.stage.value, Aws.ACCOUNT_ID])
