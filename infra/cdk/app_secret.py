"""The one Secrets Manager secret holding the credentials (SPEC §2), read by `shared/core/config.py`."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, SecretValue
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.cdk.nag import justify
from infra.cdk.settings import SECRET_KEYS


class AppSecret(Construct):
    """A JSON object keyed by variable name, created with EMPTY values: the template never holds a
    credential. Operators fill it with `aws secretsmanager put-secret-value` (README); the code treats an
    empty value as missing and names it in its configuration error, so nothing runs half-configured.

    Never change the placeholder map after the first deployment: CloudFormation would write it over the
    values filled in by hand. New keys are added by hand with put-secret-value.
    """

    def __init__(self, scope: Construct, construct_id: str, *, production: bool) -> None:
        super().__init__(scope, construct_id)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            description="Cobrança credentials: a JSON object keyed by variable name (README: Deploying)",
            secret_object_value={key: SecretValue.unsafe_plain_text("") for key in SECRET_KEYS},
            removal_policy=RemovalPolicy.RETAIN if production else RemovalPolicy.DESTROY,
        )
        justify(
            self.secret,
            "SMG4",
            "Third-party API credentials (Twilio, Evolution, OpenAI, the ISP's CRM) can only be rotated "
            "in those providers' consoles; a rotation Lambda could not issue new ones. Rotated by hand.",
        )
