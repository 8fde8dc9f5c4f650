"""One SNS topic for every alarm, and the one way alarms are made."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class Alarms(Construct):
    """The alarm topic (SSL-only publishing) and a factory of "something is wrong" alarms on it."""

    def __init__(self, scope: Construct, construct_id: str, *, email: str | None) -> None:
        super().__init__(scope, construct_id)
        # Not KMS-encrypted on purpose: notifications carry alarm names and metric values, never
        # customer data, and CloudWatch cannot publish to a topic under the AWS-managed SNS key.
        self.topic = sns.Topic(self, "Topic", display_name="Cobrança alarms", enforce_ssl=True)
        if email:
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

    def when_above(
        self,
        scope: Construct,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        description: str,
        threshold: float = 0,
        periods: int = 1,
    ) -> cloudwatch.Alarm:
        """Alarm (and notify) when `metric` exceeds `threshold` for `periods` consecutive periods;
        missing data (an idle function, an empty queue) is healthy. The alarm lives beside the resource
        it watches (`scope`)."""
        alarm = cloudwatch.Alarm(
            scope,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(actions.SnsAction(self.topic))
        return alarm


FIVE_MINUTES = Duration.minutes(5)
ONE_MINUTE = Duration.minutes(1)
