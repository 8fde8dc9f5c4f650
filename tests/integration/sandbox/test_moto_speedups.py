"""The sandbox's changes to moto's DynamoDB answer exactly as moto does: queries return the same items
in the same order, and a failed transaction leaves every item as it was; a request's action, found
once, is still the one that request names."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.local import moto_speedups


@pytest.fixture
def dynamodb(aws_env: None) -> Iterator[Any]:
    moto_speedups.apply()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="sa-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"},
                {"AttributeName": "state", "AttributeType": "S"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_state",
                    "KeySchema": [
                        {"AttributeName": "state", "KeyType": "HASH"},
                        {"AttributeName": "sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


def _put(client: Any, pk: str, sk: int, state: str) -> None:
    client.put_item(TableName="t", Item={"pk": {"S": pk}, "sk": {"N": str(sk)}, "state": {"S": state}})


def _keys(items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(i["pk"]["S"], int(i["sk"]["N"])) for i in items]


def test_a_table_query_returns_its_partition_sorted_by_range_key(dynamodb) -> None:
    for pk, sk in [("b", 3), ("a", 10), ("b", 1), ("a", 2), ("c", 5), ("b", 2)]:
        _put(dynamodb, pk, sk, "open")

    found = dynamodb.query(
        TableName="t",
        KeyConditionExpression="pk = :pk AND sk > :low",
        ExpressionAttributeValues={":pk": {"S": "b"}, ":low": {"N": "1"}},
    )
    backwards = dynamodb.query(
        TableName="t",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "b"}},
        ScanIndexForward=False,
    )

    assert _keys(found["Items"]) == [("b", 2), ("b", 3)]
    assert _keys(backwards["Items"]) == [("b", 3), ("b", 2), ("b", 1)]
    assert (
        dynamodb.query(
            TableName="t", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "z"}}
        )["Items"]
        == []
    )


def test_an_index_query_pages_through_its_partition_in_index_order(dynamodb) -> None:
    for pk, sk, state in [("a", 4, "open"), ("b", 1, "open"), ("c", 3, "closed"), ("d", 2, "open")]:
        _put(dynamodb, pk, sk, state)
    query = {
        "TableName": "t",
        "IndexName": "by_state",
        "KeyConditionExpression": "#s = :s",
        "ExpressionAttributeNames": {"#s": "state"},
        "ExpressionAttributeValues": {":s": {"S": "open"}},
        "Limit": 2,
    }

    first = dynamodb.query(**query)
    second = dynamodb.query(**query, ExclusiveStartKey=first["LastEvaluatedKey"])

    assert _keys(first["Items"]) == [("b", 1), ("d", 2)]
    assert _keys(second["Items"]) == [("a", 4)]


def test_a_cancelled_transaction_undoes_its_put_and_its_update(dynamodb) -> None:
    _put(dynamodb, "a", 1, "open")
    _put(dynamodb, "b", 1, "open")

    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": "t",
                        "Item": {"pk": {"S": "new"}, "sk": {"N": "1"}, "state": {"S": "x"}},
                    }
                },
                {
                    "Update": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
                        "UpdateExpression": "SET #s = :s",
                        "ExpressionAttributeNames": {"#s": "state"},
                        "ExpressionAttributeValues": {":s": {"S": "changed"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": "t",
                        "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )

    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    items = dynamodb.scan(TableName="t")["Items"]
    assert sorted((i["pk"]["S"], i["state"]["S"]) for i in items) == [("a", "open"), ("b", "open")]


def test_a_committed_transaction_writes_every_item(dynamodb) -> None:
    _put(dynamodb, "a", 1, "open")

    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": "t", "Item": {"pk": {"S": "new"}, "sk": {"N": "1"}, "state": {"S": "x"}}}},
            {"Delete": {"TableName": "t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}}},
        ]
    )

    assert [i["pk"]["S"] for i in dynamodb.scan(TableName="t")["Items"]] == ["new"]


def test_every_attribute_type_comes_back_as_it_was_written(dynamodb) -> None:
    item = {
        "pk": {"S": "a"},
        "sk": {"N": "1.50"},
        "state": {"S": "open"},
        "empty": {"S": ""},
        "flag": {"BOOL": False},
        "nothing": {"NULL": True},
        "tags": {"SS": ["x", "y"]},
        "sizes": {"NS": ["1", "2.5"]},
        "blob": {"B": b"\x00\x01"},
        "list": {"L": [{"S": "one"}, {"N": "2"}, {"M": {"deep": {"BOOL": True}}}, {"B": b"\x02"}]},
        "map": {"M": {"inner": {"L": []}, "empty": {"M": {}}}},
    }
    dynamodb.put_item(TableName="t", Item=item)

    got = dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"N": "1.50"}})["Item"]
    queried = dynamodb.query(
        TableName="t", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "a"}}
    )["Items"]

    expected = item | {"tags": {"SS": ["x", "y"]}, "sizes": {"NS": ["1", "2.5"]}}
    assert {k: v for k, v in got.items() if k not in ("tags", "sizes")} == {
        k: v for k, v in expected.items() if k not in ("tags", "sizes")
    }
    assert sorted(got["tags"]["SS"]) == ["x", "y"] and sorted(got["sizes"]["NS"]) == ["1", "2.5"]
    assert queried == [got]


def _dynamodb_request(operation: str) -> Any:
    from moto.core.request import Request

    return Request.from_primitives(
        "POST",
        "https://dynamodb.sa-east-1.amazonaws.com/",
        {"X-Amz-Target": f"DynamoDB_20120810.{operation}", "Content-Type": "application/x-amz-json-1.0"},
        b"{}",
    )


def test_a_response_object_handed_another_request_finds_that_requests_action() -> None:
    from moto.dynamodb.responses import DynamoHandler

    moto_speedups.apply()
    handler = DynamoHandler()
    handler.normalized_request = _dynamodb_request("GetItem")
    assert handler._get_action() == handler._get_action() == "GetItem"

    handler.normalized_request = _dynamodb_request("PutItem")

    assert handler._get_action() == "PutItem"


def test_queries_running_at_once_on_several_threads_each_see_their_own_partition(dynamodb) -> None:
    """The API serves requests on several threads over one in-process moto (the dashboard's browser
    tests): a query must never answer with another thread's partition, nor fail when both end."""
    for pk in ("a", "b"):
        for sk in range(5):
            _put(dynamodb, pk, sk, "open")
    start = threading.Barrier(2)
    wrong: list[str] = []

    def query(pk: str) -> None:
        start.wait()
        for _ in range(300):
            try:
                found = dynamodb.query(
                    TableName="t",
                    KeyConditionExpression="pk = :pk",
                    ExpressionAttributeValues={":pk": {"S": pk}},
                )
            except Exception as exc:  # the failure is the finding
                wrong.append(f"{pk}: {exc!r}")
                return
            if _keys(found["Items"]) != [(pk, sk) for sk in range(5)]:
                wrong.append(f"{pk}: {_keys(found['Items'])}")
                return

    threads = [threading.Thread(target=query, args=(pk,)) for pk in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert wrong == []
