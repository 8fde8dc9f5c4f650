"""Every DynamoDB table, built from `shared.data.schema.table_specs()` — the same description the code's
models produce — so the deployed keys, indexes and TTLs can never drift from what the code queries."""

from __future__ import annotations

from aws_cdk import CfnDeletionPolicy, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from shared.data.schema import IndexSpec, KeySpec, TableSpec, table_specs

_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "ALL": dynamodb.ProjectionType.ALL,
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


class DataTables(Construct):
    """One on-demand, PITR-protected, encrypted table per spec; `tables[suffix]` finds one."""

    def __init__(self, scope: Construct, construct_id: str, *, prefix: str, production: bool) -> None:
        super().__init__(scope, construct_id)
        self.prefix = prefix
        self.tables: dict[str, dynamodb.Table] = {
            spec.suffix: self._table(spec, production) for spec in table_specs()
        }

    def _table(self, spec: TableSpec, production: bool) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            "".join(part.capitalize() for part in spec.suffix.split("_")),
            # The code derives names from COBRANCA_TABLE_PREFIX: the physical name is the contract.
            table_name=spec.table_name(self.prefix),
            partition_key=_attribute(spec.hash_key),
            sort_key=_attribute(spec.range_key) if spec.range_key else None,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            time_to_live_attribute=spec.ttl_attribute,
            # Promises, opt-outs and the contact log are legal records: prod never loses them to a
            # stack deletion or a mistyped console click.
            deletion_protection=production,
            removal_policy=RemovalPolicy.RETAIN if production else RemovalPolicy.DESTROY,
        )
        # An update that replaces a table (a new name: README's "Upgrading a deployed stack" moves the
        # stack to a new tablePrefix) keeps the old one in every stage, for `cobranca upgrade` to copy
        # from; only `cdk destroy` of a dev stack deletes tables.
        cfn_table = table.node.default_child
        assert isinstance(cfn_table, dynamodb.CfnTable)
        cfn_table.cfn_options.update_replace_policy = CfnDeletionPolicy.RETAIN
        for index in spec.global_indexes:
            _add_index(table, index)
        return table


def _attribute(key: KeySpec) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=key.name, type=_TYPES[key.type])


def _add_index(table: dynamodb.Table, index: IndexSpec) -> None:
    table.add_global_secondary_index(
        index_name=index.name,
        partition_key=_attribute(index.hash_key),
        sort_key=_attribute(index.range_key) if index.range_key else None,
        projection_type=_PROJECTIONS[index.projection],
        non_key_attributes=list(index.non_key_attributes) or None,
    )
