"""DynamoDB: exactly the tables of `shared.data.schema.table_specs()`, protected."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.data.schema import KeySpec, TableSpec, table_specs
from tests.infra.synth import Synthesized, synthesize

TABLE = "AWS::DynamoDB::Table"


def _tables_by_name(synth: Synthesized) -> dict[str, dict]:
    return {t["Properties"]["TableName"]: t for t in synth.resources("AWS::DynamoDB::Table").values()}


def _key_schema(hash_key: KeySpec, range_key: KeySpec | None) -> list[dict[str, str]]:
    keys = [{"AttributeName": hash_key.name, "KeyType": "HASH"}]
    if range_key:
        keys.append({"AttributeName": range_key.name, "KeyType": "RANGE"})
    return keys


def _attribute_types(spec: TableSpec) -> dict[str, str]:
    keys = [spec.hash_key, spec.range_key]
    for index in spec.global_indexes:
        keys += [index.hash_key, index.range_key]
    return {key.name: key.type for key in keys if key}


def test_the_tables_are_exactly_the_code_s_tables(each_stage: Synthesized) -> None:
    prefix = each_stage.settings.table_prefix
    assert set(_tables_by_name(each_stage)) == {spec.table_name(prefix) for spec in table_specs()}


@pytest.mark.parametrize("spec", table_specs(), ids=lambda spec: spec.suffix)
def test_table_keys_indexes_and_ttl_match_the_spec(prod: Synthesized, spec: TableSpec) -> None:
    props = _tables_by_name(prod)[spec.table_name("cobranca")]["Properties"]
    assert props["KeySchema"] == _key_schema(spec.hash_key, spec.range_key)
    declared = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    assert declared == _attribute_types(spec)
    indexes = {index["IndexName"]: index for index in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {index.name for index in spec.global_indexes}
    for index in spec.global_indexes:
        deployed = indexes[index.name]
        assert deployed["KeySchema"] == _key_schema(index.hash_key, index.range_key)
        assert deployed["Projection"]["ProjectionType"] == index.projection
        assert sorted(deployed["Projection"].get("NonKeyAttributes", [])) == sorted(index.non_key_attributes)
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props


def test_every_table_is_on_demand_encrypted_and_point_in_time_recoverable(each_stage: Synthesized) -> None:
    for table in _tables_by_name(each_stage).values():
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert props["SSESpecification"]["SSEEnabled"] is True


def test_production_tables_survive_deletion(prod: Synthesized) -> None:
    for table in _tables_by_name(prod).values():
        assert table["Properties"]["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_dev_tables_can_be_torn_down_but_survive_their_replacement(dev: Synthesized) -> None:
    for name, table in _tables_by_name(dev).items():
        assert name.startswith("cobranca-dev-")
        assert not table["Properties"].get("DeletionProtectionEnabled")
        assert table["DeletionPolicy"] == "Delete"
        assert table["UpdateReplacePolicy"] == "Retain"  # a new tablePrefix keeps the old tables


def test_a_new_table_prefix_replaces_every_table_and_keeps_the_promise_schedules(
    dev: Synthesized, lambda_asset: Path, tmp_path: Path
) -> None:
    """README's "Upgrading a deployed stack": redeployed with a new tablePrefix, each table keeps its
    logical id under a new name (CloudFormation creates it in this version's shape and retains the old
    one), the functions read the new tables, and the promises' one-time schedules stay in their group."""
    moved = synthesize({"stage": "dev", "tablePrefix": "cobranca-dev-v2"}, lambda_asset, tmp_path)
    before = {logical_id: t["Properties"]["TableName"] for logical_id, t in dev.resources(TABLE).items()}
    after = {logical_id: t["Properties"]["TableName"] for logical_id, t in moved.resources(TABLE).items()}
    assert after.keys() == before.keys()
    assert {before[i].replace("cobranca-dev-", "cobranca-dev-v2-", 1) for i in before} == set(after.values())
    assert all(t["UpdateReplacePolicy"] == "Retain" for t in moved.resources(TABLE).values())
    prefixes = {
        fn["Properties"]["Environment"]["Variables"]["COBRANCA_TABLE_PREFIX"]
        for fn in moved.resources("AWS::Lambda::Function").values()
        if "COBRANCA_TABLE_PREFIX" in fn["Properties"].get("Environment", {}).get("Variables", {})
    }
    assert prefixes == {"cobranca-dev-v2"}
    groups = [g["Properties"]["Name"] for g in moved.resources("AWS::Scheduler::ScheduleGroup").values()]
    assert groups == [
        g["Properties"]["Name"] for g in dev.resources("AWS::Scheduler::ScheduleGroup").values()
    ]
