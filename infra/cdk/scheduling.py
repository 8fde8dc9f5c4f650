"""EventBridge Scheduler: the business-hours tick, and the group where promise checks are scheduled."""

from __future__ import annotations

import json

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

# Every 5 minutes, 08:00–21:55 São Paulo time, Monday to Saturday: the legal contact windows of
# customers in every Brazilian zone fall inside it (Amazonas' 08:00 is 09:00 here, Acre's 08:00 is
# 10:00; only Acre's last minutes before 20:00 local, 22:00 here, are left out). The code checks each
# customer's own window, holidays included, at every tick: the cron only decides when to look.
TICK_EXPRESSION = "cron(0/5 8-21 ? * MON-SAT *)"
TICK_TIMEZONE = "America/Sao_Paulo"
TICK_INPUT = {"reason": "tick"}
# A tick older than one period is worthless: the next one is already due.
TICK_MAX_AGE_SECONDS = 300
# What code may do in the group: create a promise's one-time check, read it back, delete it.
SCHEDULE_ACTIONS = ("scheduler:CreateSchedule", "scheduler:GetSchedule", "scheduler:DeleteSchedule")


class Scheduling(Construct):
    """The schedule group, the tick, and the role schedules assume to reach the promise-monitor queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        group_name: str,
        tick_queue: sqs.IQueue,
        promise_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.group_name = group_name
        group = scheduler.CfnScheduleGroup(self, "Group", name=group_name)
        # SCHEDULER_ROLE_ARN: what every promise's schedule runs as — it can only enqueue a check.
        self.promise_role = self._sender_role("PromiseRole", promise_queue)
        tick_role = self._sender_role("TickRole", tick_queue)
        tick = scheduler.CfnSchedule(
            self,
            "BusinessHoursTick",
            group_name=group_name,
            description="Wakes the scheduler worker: due targets onto the channel queues",
            schedule_expression=TICK_EXPRESSION,
            schedule_expression_timezone=TICK_TIMEZONE,
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            target=scheduler.CfnSchedule.TargetProperty(
                arn=tick_queue.queue_arn,
                role_arn=tick_role.role_arn,
                input=json.dumps(TICK_INPUT),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=TICK_MAX_AGE_SECONDS, maximum_retry_attempts=3
                ),
            ),
        )
        tick.add_resource_dependency(group)

    def _sender_role(self, construct_id: str, queue: sqs.IQueue) -> iam.Role:
        account = Stack.of(self).account
        role = iam.Role(
            self,
            construct_id,
            # aws:SourceAccount: only schedules of this account may assume it (confused deputy).
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account}}
            ),
            description=f"EventBridge Scheduler: send messages to one queue ({construct_id})",
        )
        role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn]))
        return role

    @property
    def schedules_arn(self) -> str:
        """Every schedule of the group (their names are made per promise at run time)."""
        return Stack.of(self).format_arn(
            service="scheduler", resource="schedule", resource_name=f"{self.group_name}/*"
        )

    def grant_manage_promises(self, grantee: iam.IGrantable) -> None:
        """Let `grantee` create/read/delete schedules in the group and hand them the promise role."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=list(SCHEDULE_ACTIONS), resources=[self.schedules_arn])
        )
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.promise_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
