"""CDK entry point (cdk.json: `.venv/bin/python infra/app.py`): one `CobrancaStack` per stage.

    make synth                      # stage=dev
    make deploy STAGE=prod CDK_ARGS="-c certificateArn=... -c COMPANY_NAME=..."

Context keys and the secret to fill: README, "Deploying to AWS".
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# `cdk` runs this file as a script: make the repository importable (infra.cdk, shared).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aws_cdk as cdk

from infra.cdk.nag import apply_checks
from infra.cdk.settings import (
    APP_SETTING_KEYS,
    CONTEXT_KEYS,
    SECRET_KEYS,
    ContextError,
    DeploymentSettings,
)
from infra.cdk.stack import CobrancaStack, LambdaAssetMissing


def main() -> None:
    app = cdk.App()
    try:
        settings = DeploymentSettings.from_context(
            _context(app),
            account=os.environ.get("CDK_DEFAULT_ACCOUNT"),  # the CLI's credentials, if any
        )
        CobrancaStack(
            app,
            settings.stack_name,
            settings=settings,
            env=cdk.Environment(account=settings.account, region=settings.region),
            description=f"Cobrança ({settings.stage.value}): debt collection over WhatsApp and voice",
        )
    except (ContextError, LambdaAssetMissing) as exc:
        sys.exit(f"error: {exc}")
    # cdk-nag on every synth: an unjustified finding is an error and stops `cdk synth` / `cdk deploy`.
    apply_checks(app)
    app.synth()


def _context(app: cdk.App) -> dict[str, object]:
    """Every context value the app may read (cdk.json, cdk.context.json and -c)."""
    keys = CONTEXT_KEYS | APP_SETTING_KEYS | set(SECRET_KEYS)
    return {key: value for key in keys if (value := app.node.try_get_context(key)) is not None}


if __name__ == "__main__":
    main()
