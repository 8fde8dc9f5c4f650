"""cdk-nag: the AwsSolutions pack, and the one way to justify an exception to it.

Every exception is attached to the construct it concerns (never stack-wide), names the rule, and says
why in words specific to that resource; `applies_to` narrows an IAM5 exception to the exact wildcard
finding so that any *other* wildcard on the same policy still fails.
"""

from __future__ import annotations

from aws_cdk import Aspects
from cdk_nag import AwsSolutionsChecks, NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import IConstruct

# IAM5 findings are rendered like "Resource::<LogicalId.Arn>/index/*": these match the narrow shapes
# CDK's grants produce for resources whose sub-resource names are only known at run time.
TABLE_INDEXES = RegexAppliesTo(regex=r"/^Resource::<[A-Za-z0-9]+\.Arn>\/index\/\*$/g")


def apply_checks(scope: IConstruct) -> None:
    """Run the AwsSolutions rules on everything under `scope` at synthesis."""
    Aspects.of(scope).add(AwsSolutionsChecks(verbose=True))


def justify(
    construct: IConstruct,
    rule: str,
    reason: str,
    *,
    applies_to: list[str | RegexAppliesTo] | None = None,
    children: bool = True,
) -> None:
    """Accept one AwsSolutions finding (`rule` like "IAM5") on `construct`, for `reason`."""
    NagSuppressions.add_resource_suppressions(
        construct,
        [NagPackSuppression(id=f"AwsSolutions-{rule}", reason=reason, applies_to=applies_to)],
        apply_to_children=children,
    )
