"""Binding and table creation against moto."""

from __future__ import annotations

import boto3
import pytest

from shared.core.config import reset_settings
from shared.data import bind, create_tables, delete_tables, table_name, table_specs


def test_create_tables_builds_every_spec_with_gsis_and_ttl(aws):
    names = create_tables()
    client = boto3.client("dynamodb", region_name="sa-east-1")

    assert sorted(names) == sorted(spec.table_name("test") for spec in table_specs())
    for spec in table_specs():
        description = client.describe_table(TableName=spec.table_name("test"))["Table"]
        assert description["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert {i["IndexName"] for i in description.get("GlobalSecondaryIndexes", [])} == {
            i.name for i in spec.global_indexes
        }
        ttl = client.describe_time_to_live(TableName=spec.table_name("test"))["TimeToLiveDescription"]
        if spec.ttl_attribute:
            assert ttl["TimeToLiveStatus"] == "ENABLED" and ttl["AttributeName"] == spec.ttl_attribute
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED"


def test_create_tables_is_idempotent_and_delete_tables_drops_them(aws):
    create_tables()
    create_tables()
    delete_tables()
    delete_tables()

    assert boto3.client("dynamodb", region_name="sa-east-1").list_tables()["TableNames"] == []


def test_bind_follows_the_environment(aws, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COBRANCA_TABLE_PREFIX", "sandbox")
    reset_settings()

    binding = bind()

    assert binding.prefix == "sandbox" and binding.host is None and binding.region == "sa-east-1"
    assert table_name("targets") == "sandbox-targets"


def test_tables_fixture_gives_every_test_empty_tables(tables):
    client = boto3.client("dynamodb", region_name="sa-east-1")
    for spec in table_specs():
        assert client.scan(TableName=spec.table_name("test"))["Count"] == 0
    client.put_item(TableName=table_name("counters"), Item={"scope": {"S": "leak"}, "part": {"S": "-"}})


def test_tables_fixture_gives_every_test_empty_tables_again(tables):
    client = boto3.client("dynamodb", region_name="sa-east-1")
    assert client.scan(TableName=table_name("counters"))["Count"] == 0
