"""Every table, described and created from the models themselves.

`table_specs()` is a plain (PynamoDB-free) description the CDK app reads, so the deployed tables can
never drift from what the code queries. `create_tables()` builds the same tables on the configured
endpoint (moto in tests, the local sandbox); on AWS the CDK app owns them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.exceptions import TableError

# Importing the table modules registers their models with `base`.
from shared.data import (  # noqa: F401
    access_log,
    campaigns,
    contact_log,
    conversations,
    counters,
    dedupe,
    imports,
    messages,
    optouts,
    phone_index,
    promises,
    targets,
)
from shared.data.base import TableModel, current_binding, registered_models


@dataclass(frozen=True)
class KeySpec:
    name: str
    type: str  # DynamoDB scalar type: "S", "N" or "B"


@dataclass(frozen=True)
class IndexSpec:
    name: str
    hash_key: KeySpec
    range_key: KeySpec | None
    projection: str  # "ALL", "KEYS_ONLY" or "INCLUDE"
    non_key_attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    suffix: str  # the table is named f"{prefix}-{suffix}"
    hash_key: KeySpec
    range_key: KeySpec | None
    global_indexes: tuple[IndexSpec, ...]
    ttl_attribute: str | None
    billing_mode: str = PAY_PER_REQUEST_BILLING_MODE

    def table_name(self, prefix: str) -> str:
        return f"{prefix}-{self.suffix}"


def table_specs() -> list[TableSpec]:
    """Every table with its keys, GSIs (and projections) and TTL attribute, derived from the models."""
    return [_spec(model) for model in _models()]


def create_tables() -> list[str]:
    """Create every missing table (PAY_PER_REQUEST, GSIs, TTL) on the bound endpoint; returns names."""
    names = []
    for model in _models():
        _create(model)
        names.append(model.Meta.table_name)
    return names


def delete_tables() -> None:
    """Drop every table of the current binding (tests and `cobranca local --reset`)."""
    for model in _models():
        try:
            model._get_connection().delete_table()
        except TableError as exc:
            if exc.cause_response_code != "ResourceNotFoundException":
                raise


def _models() -> list[type[TableModel]]:
    return sorted(registered_models(), key=lambda model: model.Meta.suffix)  # type: ignore[attr-defined]


def _spec(model: type[TableModel]) -> TableSpec:
    schema = model._get_schema()
    types = {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    hash_key, range_key = _keys(schema["key_schema"], types)
    indexes = []
    for index in schema["global_secondary_indexes"]:
        index_hash, index_range = _keys(index["key_schema"], types)
        projection: dict[str, Any] = index["projection"]
        indexes.append(
            IndexSpec(
                name=index["index_name"],
                hash_key=index_hash,
                range_key=index_range,
                projection=projection["ProjectionType"],
                non_key_attributes=tuple(projection.get("NonKeyAttributes", ())),
            )
        )
    ttl = next(
        (attr.attr_name for attr in model.get_attributes().values() if isinstance(attr, TTLAttribute)),
        None,
    )
    meta: Any = model.Meta
    return TableSpec(meta.suffix, hash_key, range_key, tuple(indexes), ttl)


def _keys(key_schema: Any, types: dict[str, str]) -> tuple[KeySpec, KeySpec | None]:
    hash_key: KeySpec | None = None
    range_key: KeySpec | None = None
    for key in key_schema:
        spec = KeySpec(key["AttributeName"], types[key["AttributeName"]])
        if key["KeyType"] == "HASH":
            hash_key = spec
        else:
            range_key = spec
    assert hash_key is not None
    return hash_key, range_key


def _create(model: type[TableModel]) -> None:
    spec = _spec(model)
    schema = model._get_schema()
    connection = model._get_connection()
    try:
        connection.create_table(
            attribute_definitions=schema["attribute_definitions"],
            key_schema=schema["key_schema"],
            global_secondary_indexes=schema["global_secondary_indexes"],
            billing_mode=spec.billing_mode,
        )
    except TableError as exc:
        if exc.cause_response_code != "ResourceInUseException":
            raise
        return  # already there (with its TTL): keep it
    if spec.ttl_attribute is None:
        return
    for _ in range(60):
        try:
            connection.update_time_to_live(spec.ttl_attribute)
            return
        except TableError as exc:
            # Real DynamoDB refuses TTL changes while the table is still CREATING; moto never does.
            if exc.cause_response_code != "ResourceInUseException":
                raise
            time.sleep(1)
    raise TableError(f"table {current_binding().table_name(spec.suffix)} never became ACTIVE")
