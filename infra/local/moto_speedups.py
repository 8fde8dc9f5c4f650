"""Three changes to how moto's DynamoDB does its work — never to what it answers — that take most of
the local endpoint's time out of `cobranca demo` (profiled with cProfile: about half of the server's
time went to these three).

- **Query** walks `Table.all_items()`, which sorts every item of the table (DynamoType comparisons in
  Python) before the query filters them and sorts what is left again. Here the query sees the same
  items unsorted — only the partition's for a table query — and moto's own filtering, sorting,
  paging and projection run unchanged. The final sort is a total order (the table key is part of
  it), so the answer is the same, item for item. That sort reads each item's key values once
  (moto's comparisons rebuild a Decimal from the number's text at every comparison). The items a query
  sees are its thread's own: queries running at once on several threads never see each other's.
- **Responses**: moto's JSON serializer walks every attribute value of every item member by member
  (ten possible members, each looked up under several spellings). An attribute value that is
  already what the wire carries — one of S, N, BOOL, NULL, SS, NS, L, M, with the JSON types the
  wire has, nested values likewise — is written as it is, which is what that walk produces from it;
  anything else (binary, numbers as Python numbers) still takes the walk. Only DynamoDB's
  `AttributeValue` shape is concerned.
- **TransactWriteItems** deep-copies every table it touches, whole, to roll back on failure. Here
  only the items the transaction names are copied, and on failure they are put back (a missing one
  removed): the same all-or-nothing, at the cost of a few items instead of whole tables. Our tables
  have no streams, so there is no stream record to undo.

And three to the work every request of every service repeats (nearly a tenth of the local endpoint's
time, and of every in-process moto test's): moto lists a response class's methods with
`inspect.getmembers` at each request to check the action is one of them; converts the action's name
(and SQS each queue attribute's, at every read of a queue's attributes) to snake case with a
character loop; and matches the request against the service's routes again each
of the four times it asks for the action. Here the methods are listed once per class (a class does
not grow methods while moto runs), each name is converted once, and a response object matches its
request once.

Sandbox only: `apply()` is called where the local endpoint starts (`infra.local.aws`), and by the
tests' conftest for every in-process moto.
"""

from __future__ import annotations

import copy
import functools
import threading
import types
from typing import Any

_applied = False


def apply() -> None:
    """Patch moto's DynamoDB (idempotent)."""
    global _applied
    if _applied:
        return
    from moto.core.serialize import BaseJSONSerializer
    from moto.dynamodb import models as backend
    from moto.dynamodb.models.table import Table

    Table.all_items = _all_items_or_candidates(Table.all_items)  # type: ignore[method-assign]
    Table.query = _query_over_candidates(Table.query)  # type: ignore[method-assign]
    Table.sorted_items = _sorted_items  # type: ignore[method-assign]
    backend.DynamoDBBackend.transact_write_items = _rollback_touched_items(  # type: ignore[method-assign]
        backend.DynamoDBBackend.transact_write_items, backend
    )
    BaseJSONSerializer._serialize_type_structure = _pass_wire_attribute_values(  # type: ignore[method-assign]
        BaseJSONSerializer._serialize_type_structure
    )
    _remember_actions()
    _applied = True


def _remember_actions() -> None:
    """Every request's action found once, its name converted once, each class's methods listed once."""
    from moto.core import responses
    from moto.sqs import models as sqs_models

    responses.method_names_from_class = functools.cache(responses.method_names_from_class)
    responses.camelcase_to_underscores = functools.cache(responses.camelcase_to_underscores)
    # SQS converts each of a queue's attribute names again every time it reads the queue's attributes.
    sqs_models.camelcase_to_underscores = functools.cache(sqs_models.camelcase_to_underscores)
    find_action = responses.BaseResponse._get_action

    def get_action(self: Any) -> str:
        # Keyed by the request: a response object that is handed another request finds its action anew.
        request = self.normalized_request
        found = self.__dict__.get("_sandbox_action")
        if found is None or found[0] is not request:
            found = (request, find_action(self))
            self._sandbox_action = found
        return found[1]

    responses.BaseResponse._get_action = get_action  # type: ignore[method-assign]


def _candidates(table: Any, hash_key: Any, index_name: str | None) -> list[Any]:
    """The items a query can return, unsorted: the partition of `hash_key` for a table query, every
    item for an index query (moto keeps no index structures)."""
    if index_name:
        partitions = table.items.values()
    else:
        partition = table.items.get(hash_key)  # .get: `items` is a defaultdict
        partitions = [] if partition is None else [partition]
    if table.range_key_attr:
        return [item for partition in partitions for item in partition.values()]
    return list(partitions)


# The candidates of the query running in this thread, with its table. Per thread: an API served on
# several threads over one in-process moto (the dashboard's browser tests) runs queries at once, and
# a query must never see another's candidates.
_querying = threading.local()


def _all_items_or_candidates(original: Any) -> Any:
    def all_items(self: Any) -> Any:
        running = getattr(_querying, "candidates", None)
        if running is not None and running[0] is self:
            return running[1]
        return original(self)

    return all_items


def _query_over_candidates(original: Any) -> Any:
    def query(
        self: Any,
        hash_key: Any,
        range_comparison: Any,
        range_objs: Any,
        limit: Any,
        exclusive_start_key: Any,
        scan_index_forward: Any,
        projection_expressions: Any,
        index_name: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        outer = getattr(_querying, "candidates", None)
        _querying.candidates = (self, _candidates(self, hash_key, index_name))  # for this one call
        try:
            return original(
                self,
                hash_key,
                range_comparison,
                range_objs,
                limit,
                exclusive_start_key,
                scan_index_forward,
                projection_expressions,
                index_name,
                *args,
                **kwargs,
            )
        finally:
            _querying.candidates = outer

    return query


def _sorted_items(
    self: Any, hash_key_attrs: list[str], range_key_attrs: list[Any], items: list[Any]
) -> list[Any]:
    """moto's `Table.sorted_items` with each key value cast once. Key attributes are scalars of one
    declared type, so comparing cast values orders exactly as comparing moto's `DynamoType`s."""
    names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    items.sort(key=lambda item: tuple(item.attrs[name].cast_value for name in names))
    return items


def _pass_wire_attribute_values(original: Any) -> Any:
    def serialize_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue" and _on_the_wire(value):
            self._default_serialize(serialized, value, shape, key)
            return
        original(self, serialized, value, shape, key)

    return serialize_structure


def _on_the_wire(value: Any) -> bool:
    """Whether an AttributeValue is already in the JSON form DynamoDB's wire carries (no binary)."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind in ("S", "N"):
        return type(inner) is str
    if kind in ("BOOL", "NULL"):
        return type(inner) is bool
    if kind in ("SS", "NS"):
        return type(inner) is list and all(type(v) is str for v in inner)
    if kind == "L":
        return type(inner) is list and all(_on_the_wire(v) for v in inner)
    if kind == "M":
        return type(inner) is dict and all(type(k) is str and _on_the_wire(v) for k, v in inner.items())
    return False


def _rollback_touched_items(original: Any, backend: Any) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    def no_table_copies(obj: Any, memo: Any = None) -> Any:
        return obj if isinstance(obj, Table) else copy.deepcopy(obj, memo)

    # What the original's `copy.deepcopy(table)` finds while it runs: the table itself (its own
    # "rollback" then puts back the same object, and ours below does the real one).
    patched_copy = types.SimpleNamespace(deepcopy=no_table_copies)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = []
        for entry in transact_items:
            for op in entry.values():
                table = self.tables.get(op.get("TableName"))
                if table is None:
                    continue
                key = op.get("Key") or op.get("Item") or {}
                hash_value = DynamoType(key[table.hash_key_attr]) if table.hash_key_attr in key else None
                range_value = (
                    DynamoType(key[table.range_key_attr])
                    if table.range_key_attr and table.range_key_attr in key
                    else None
                )
                if hash_value is None or (table.range_key_attr and range_value is None):
                    continue  # moto rejects it before writing anything
                current = table.get_item(hash_value, range_value)
                saved.append((table, hash_value, range_value, copy.deepcopy(current)))
        backend.copy = patched_copy
        try:
            original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item in reversed(saved):
                _restore(table, hash_value, range_value, item)
            raise
        finally:
            backend.copy = copy

    return transact_write_items


def _restore(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    if item is None:
        table.delete_item(hash_value, range_value)
    elif range_value is not None:
        table.items[hash_value][range_value] = item
    else:
        table.items[hash_value] = item
