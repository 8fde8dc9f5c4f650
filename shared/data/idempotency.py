"""The AWS Lambda Powertools idempotency table.

Powertools reads and writes these items itself (`DynamoDBPersistenceLayer`); the model exists only so
that `create_tables()` and `table_specs()` (hence the CDK app) know the table: hash key `id`, TTL on
`expiration`, Powertools' default attribute names.
"""

from __future__ import annotations

from pynamodb.attributes import TTLAttribute, UnicodeAttribute

from shared.data.base import TableModel, table_name

SUFFIX = "idempotency"


class IdempotencyRecord(TableModel):
    class Meta:
        suffix = SUFFIX

    id = UnicodeAttribute(hash_key=True)
    expiration = TTLAttribute(null=True)


def idempotency_table_name() -> str:
    """The bound table name to give `DynamoDBPersistenceLayer(table_name=...)`."""
    return table_name(SUFFIX)
