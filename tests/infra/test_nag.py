"""cdk-nag's AwsSolutions pack finds nothing unjustified in either stage — and does run."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

from infra.cdk.nag import apply_checks
from tests.infra.synth import Synthesized, cdk_json_context, messages

UNJUSTIFIED = {"error", "warning"}


def test_no_unsuppressed_errors_or_warnings(each_stage: Synthesized) -> None:
    findings = [
        (level, path, text[:300]) for level, path, text in each_stage.messages if level in UNJUSTIFIED
    ]
    assert findings == []


def test_the_checks_catch_an_unjustified_finding() -> None:
    """Guards the test above: an empty finding list must mean "compliant", not "never checked"."""
    app = cdk.App(context={**cdk_json_context(), "@aws-cdk/core:annotationsInValidationReport": False})
    stack = cdk.Stack(app, "Probe")
    s3.Bucket(stack, "Careless")  # no access logs, no SSL enforcement
    apply_checks(app)
    found = messages(app.synth().get_stack_artifact(stack.artifact_id))
    assert any(level in UNJUSTIFIED and text.startswith("AwsSolutions-S10") for level, _, text in found)
