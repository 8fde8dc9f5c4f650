"""What a compute unit may touch, declared once and turned into BOTH its IAM grants and its environment.

A function (or the voice bridge task) lists the tables, queues, bucket prefixes, secret and schedule
group it uses in an `Access`; `Platform.grant()` grants exactly that, scoped to those resources, and
returns the environment variables that point the code at them. A permission without its variable, or a
variable without its permission, cannot happen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from cdk_nag import RegexAppliesTo
from constructs import IConstruct

from infra.cdk.nag import TABLE_INDEXES, justify
from infra.cdk.queues import QueueName, WorkQueue
from infra.cdk.scheduling import Scheduling


@dataclass(frozen=True)
class Access:
    reads: frozenset[str] = frozenset()  # table suffixes read only
    writes: frozenset[str] = frozenset()  # table suffixes read and written
    sends_to: tuple[QueueName, ...] = ()
    inspects_queues: bool = False  # queue depths for /api/debug/queues
    bucket_reads: tuple[str, ...] = ()  # key prefixes of the import bucket
    bucket_writes: tuple[str, ...] = ()
    secrets: bool = False  # the credentials secret (any external API call needs it)
    schedules_promises: bool = False  # registers promises: one-time schedules in the group


def tables(*suffixes: str) -> frozenset[str]:
    return frozenset(suffixes)


@dataclass(frozen=True)
class Platform:
    """The shared resources every compute unit is granted slices of."""

    tables: dict[str, dynamodb.Table]
    table_prefix: str
    queues: dict[QueueName, WorkQueue]
    bucket: s3.IBucket
    secret: secretsmanager.ISecret
    scheduling: Scheduling

    def grant(self, access: Access, grantee: iam.IGrantable, policy_owner: IConstruct) -> dict[str, str]:
        """Grant `access` to `grantee`; return the environment that goes with it. `policy_owner` is the
        construct whose generated policy carries the grants (for the justified IAM5 findings)."""
        env: dict[str, str] = {}
        if access.reads or access.writes:
            self._grant_tables(access, grantee, policy_owner)
            env["COBRANCA_TABLE_PREFIX"] = self.table_prefix
        for name in access.sends_to:
            self.queues[name].queue.grant_send_messages(grantee)
            env[name.url_variable] = self.queues[name].queue.queue_url
        if access.inspects_queues:
            grantee.grant_principal.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["sqs:GetQueueAttributes"],
                    resources=[work.queue.queue_arn for work in self.queues.values()],
                )
            )
            env.update({name.url_variable: work.queue.queue_url for name, work in self.queues.items()})
        if access.bucket_reads or access.bucket_writes:
            self._grant_bucket(access, grantee, policy_owner)
            env["IMPORT_BUCKET"] = self.bucket.bucket_name
        if access.secrets:
            self.secret.grant_read(grantee)
            env["COBRANCA_SECRETS_ARN"] = self.secret.secret_arn
        if access.schedules_promises:
            self._grant_schedules(grantee, policy_owner)
            monitor = self.queues[QueueName.PROMISE_MONITOR].queue
            env |= {
                "SCHEDULER_GROUP_NAME": self.scheduling.group_name,
                "SCHEDULER_ROLE_ARN": self.scheduling.promise_role.role_arn,
                "PROMISE_MONITOR_QUEUE_ARN": monitor.queue_arn,
            }
        return env

    def _grant_tables(self, access: Access, grantee: iam.IGrantable, owner: IConstruct) -> None:
        unknown = (access.reads | access.writes) - self.tables.keys()
        if unknown:
            raise ValueError(f"no table with suffix {sorted(unknown)} in shared.data.schema")
        for suffix in sorted(access.writes):
            self.tables[suffix].grant_read_write_data(grantee)
        for suffix in sorted(access.reads - access.writes):
            self.tables[suffix].grant_read_data(grantee)
        justify(
            owner,
            "IAM5",
            "Queries on the granted tables' own GSIs: CDK grants `<table ARN>/index/*`, which matches "
            "only indexes of that one table (their names come from shared/data/schema.py).",
            applies_to=[TABLE_INDEXES],
        )

    def _grant_bucket(self, access: Access, grantee: iam.IGrantable, owner: IConstruct) -> None:
        statements = (("s3:GetObject", access.bucket_reads), ("s3:PutObject", access.bucket_writes))
        for action, granted in statements:
            if granted:
                grantee.grant_principal.add_to_principal_policy(
                    iam.PolicyStatement(
                        actions=[action], resources=[self.bucket.arn_for_objects(f"{p}*") for p in granted]
                    )
                )
        prefixes = sorted({*access.bucket_reads, *access.bucket_writes})
        justify(
            owner,
            "IAM5",
            f"Object keys under {', '.join(prefixes)} are made per upload at run time; the grant is "
            "limited to those prefixes of the one import bucket and to GetObject/PutObject.",
            applies_to=[_objects_finding(prefixes)],
        )

    def _grant_schedules(self, grantee: iam.IGrantable, owner: IConstruct) -> None:
        self.scheduling.grant_manage_promises(grantee)
        justify(
            owner,
            "IAM5",
            "One-time schedules are named per promise at run time; the grant is limited to "
            "Create/Get/DeleteSchedule inside this deployment's schedule group.",
            applies_to=[_schedule_finding(self.scheduling.group_name)],
        )


def _objects_finding(prefixes: list[str]) -> RegexAppliesTo:
    alternatives = "|".join(re.escape(prefix.rstrip("/")) for prefix in prefixes)
    return RegexAppliesTo(regex=rf"/^Resource::<[A-Za-z0-9]+\.Arn>\/({alternatives})\/\*$/g")


def _schedule_finding(group_name: str) -> RegexAppliesTo:
    group = re.escape(group_name)
    return RegexAppliesTo(
        regex=rf"/^Resource::arn:[^:]+:scheduler:[^:]+:(\d{{12}}|<AWS::AccountId>):schedule\/{group}\/\*$/g"
    )
