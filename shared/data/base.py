"""What every table module shares: the `TableModel` base, binding to the configured tables, write
helpers that turn DynamoDB's condition failures into domain errors, and the batch writer.

Binding: a table is named `f"{settings.table_prefix}-{suffix}"`; `host` is `settings.aws_endpoint_url`
(the local sandbox / moto) and the region `settings.aws_region`. Models bind themselves lazily on their
first request; tests and the sandbox call `bind()` again after changing the environment.

One botocore client per (endpoint, region) serves every model. PynamoDB would otherwise build a botocore
session and client per model, ~140 ms each (endpoint and service JSON parsing): 1.5 s of cold start
for eleven tables. botocore clients are thread-safe; sessions are not, so the client is built under a
lock.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from typing import Any, ClassVar, NamedTuple, TypeVar

import botocore.session
from botocore.config import Config
from pydantic import BaseModel, TypeAdapter
from pynamodb.attributes import Attribute
from pynamodb.connection import Connection, TableConnection
from pynamodb.constants import PAY_PER_REQUEST_BILLING_MODE
from pynamodb.exceptions import PutError, PynamoDBException, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from shared.core.config import Settings, get_settings
from shared.domain.errors import Conflict

D = TypeVar("D", bound=BaseModel)

BATCH_WRITE_LIMIT = 25
BATCH_WRITE_ATTEMPTS = 8
# Lambda timeouts are short: fail a stuck connection fast and let botocore's retries (standard mode,
# 4 attempts in all, as PynamoDB's default) take over.
_CLIENT_CONFIG = Config(
    connect_timeout=5,
    read_timeout=10,
    retries={"total_max_attempts": 4, "mode": "standard"},
    max_pool_connections=32,
    parameter_validation=False,  # PynamoDB builds valid requests; skip botocore's re-check
)


class Binding(NamedTuple):
    """Where the tables live; one per `bind()` call."""

    prefix: str
    host: str | None
    region: str

    def table_name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"


_binding: Binding | None = None
_bind_lock = threading.Lock()
_transactions: Connection | None = None
_models: list[type[TableModel]] = []
_clients: dict[tuple[str | None, str], Any] = {}
_clients_lock = threading.Lock()


class TableModel(Model):
    """Base of every table model.

    Subclasses declare `class Meta: suffix = "<name>"`. A model that shares another model's table (a
    second item type in it) also sets `shares_table = True`, so the table is created and described once.
    """

    class Meta:
        table_name = "unbound"
        billing_mode = PAY_PER_REQUEST_BILLING_MODE

    _bound_to: ClassVar[Binding | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _models.append(cls)

    @classmethod
    def _get_connection(cls) -> TableConnection:
        # Lazy binding: the first request of any model reads the settings. Checked per class so a model
        # imported after `bind()` still lands on the current tables.
        binding = _binding or bind()
        if cls._bound_to is not binding:
            _apply(cls, binding)
        connection = super()._get_connection()
        if connection.connection._client is None:
            connection.connection._client = _client(binding)
        return connection


def bind(settings: Settings | None = None) -> Binding:
    """Point every model at the configured tables and endpoint, dropping cached connections."""
    global _binding, _transactions
    settings = settings or get_settings()
    binding = Binding(settings.table_prefix, settings.aws_endpoint_url or None, settings.aws_region)
    with _bind_lock:
        _binding = binding
        _transactions = None
        for model in _models:
            _apply(model, binding)
    return binding


def current_binding() -> Binding:
    """The binding in force (binding now if nothing was bound yet)."""
    return _binding or bind()


def table_name(suffix: str) -> str:
    """The full table name for a suffix, e.g. `table_name("targets")`."""
    return current_binding().table_name(suffix)


def registered_models() -> list[type[TableModel]]:
    """Every model that owns a table (not the ones sharing another model's table)."""
    return [model for model in _models if not getattr(model.Meta, "shares_table", False)]


def transaction_connection() -> Connection:
    """The connection `TransactWrite` needs (PynamoDB transactions are not tied to one model)."""
    global _transactions
    binding = current_binding()
    if _transactions is None:
        _transactions = Connection(region=binding.region, host=binding.host)
        _transactions._client = _client(binding)
    return _transactions


def reset_clients() -> None:
    """Forget the shared botocore clients (e.g. after the credentials in the environment changed)."""
    global _transactions
    with _clients_lock:
        _clients.clear()
    with _bind_lock:
        _transactions = None
        for model in _models:
            model._connection = None


def _client(binding: Binding) -> Any:
    key = (binding.host, binding.region)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = botocore.session.get_session().create_client(
                "dynamodb", region_name=binding.region, endpoint_url=binding.host, config=_CLIENT_CONFIG
            )
            _clients[key] = client
        return client


def _apply(model: type[TableModel], binding: Binding) -> None:
    meta: Any = model.Meta
    meta.table_name = binding.table_name(meta.suffix)
    meta.host = binding.host
    meta.region = binding.region
    model._connection = None
    model._bound_to = binding


# --- errors -----------------------------------------------------------------------------------------


class TransitionConflict(Conflict):
    """A conditional state change found the item in another state (or lost the race for it)."""

    code = "transition_conflict"

    def __init__(self, entity: str, entity_id: str, current: str) -> None:
        super().__init__(f"{entity} {entity_id} is {current}")
        self.entity = entity
        self.entity_id = entity_id
        self.current = current


def is_condition_failure(exc: PynamoDBException) -> bool:
    """True when a single-item write failed its ConditionExpression."""
    return exc.cause_response_code == "ConditionalCheckFailedException"


def update_if(
    model: type[TableModel],
    hash_key: str,
    range_key: str | None = None,
    *,
    actions: Sequence[Action],
    condition: Any,
) -> bool:
    """One conditional UpdateItem of `model`'s item; False (nothing written) when `condition` did not hold."""
    try:
        model._get_connection().update_item(hash_key, range_key, actions=list(actions), condition=condition)
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        return False
    return True


def failed_transaction_items(exc: TransactWriteError) -> list[int]:
    """Indexes of the items whose condition failed in a cancelled transaction."""
    if exc.cause_response_code != "TransactionCanceledException":
        return []
    return [
        i
        for i, reason in enumerate(exc.cancellation_reasons)
        if reason is not None and reason.code == "ConditionalCheckFailed"
    ]


# --- domain <-> item ----------------------------------------------------------------------------------


def record_kwargs(domain: BaseModel) -> dict[str, Any]:
    """The domain object's fields, by name, as PynamoDB attribute kwargs."""
    return {name: getattr(domain, name) for name in type(domain).model_fields}


def to_domain(domain_cls: type[D], record: Model) -> D:
    """Build (and validate) a domain object from a record whose attributes carry the same names."""
    return domain_cls.model_validate({name: getattr(record, name) for name in domain_cls.model_fields})


@cache
def _field_adapter(domain_cls: type[BaseModel], name: str) -> TypeAdapter[Any]:
    annotation: Any = domain_cls.model_fields[name].annotation
    return TypeAdapter(annotation)


def validate_changes(
    domain_cls: type[BaseModel], changes: Mapping[str, Any], *, forbidden: Iterable[str] = ()
) -> dict[str, Any]:
    """Type-check partial changes against the domain model's field types (coercing as pydantic does).

    Unknown fields and `forbidden` ones (keys, fields owned by a dedicated method) are programming
    errors: `ValueError`, not a domain error.
    """
    blocked = set(forbidden)
    validated: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in domain_cls.model_fields:
            raise ValueError(f"{domain_cls.__name__} has no field {name!r}")
        if name in blocked:
            raise ValueError(f"{domain_cls.__name__}.{name} cannot be changed this way")
        validated[name] = _field_adapter(domain_cls, name).validate_python(value)
    return validated


def set_actions(model: type[Model], values: Mapping[str, Any]) -> list[Action]:
    """SET for values, REMOVE for None (PynamoDB never stores nulls)."""
    attributes: dict[str, Attribute[Any]] = model.get_attributes()
    return [
        attributes[name].remove() if value is None else attributes[name].set(value)
        for name, value in values.items()
    ]


# --- batch writes ---------------------------------------------------------------------------------------


def batch_put(model: type[TableModel], records: Iterable[TableModel]) -> int:
    """BatchWriteItem puts in chunks of 25, retrying unprocessed items with jittered backoff.

    PynamoDB's own `batch_write` retries without any pause, which throttling only makes worse.
    Returns how many BatchWriteItem requests were sent.
    """
    return _batch_write(model, ({"PutRequest": {"Item": record.serialize()}} for record in records))


def batch_put_items(model: type[TableModel], items: Iterable[dict[str, Any]]) -> int:
    """BatchWriteItem puts of items already in DynamoDB JSON (a copy between tables), as `batch_put`."""
    return _batch_write(model, ({"PutRequest": {"Item": item}} for item in items))


def batch_delete(model: type[TableModel], keys: Iterable[dict[str, Any]]) -> int:
    """BatchWriteItem deletes (keys in DynamoDB JSON, e.g. `{"id": {"S": "..."}}`), as `batch_put`."""
    return _batch_write(model, ({"DeleteRequest": {"Key": key}} for key in keys))


def _batch_write(model: type[TableModel], requests: Iterable[dict[str, Any]]) -> int:
    sent = 0
    chunk: list[dict[str, Any]] = []
    for request in requests:
        chunk.append(request)
        if len(chunk) == BATCH_WRITE_LIMIT:
            sent += _write_chunk(model, chunk)
            chunk = []
    if chunk:
        sent += _write_chunk(model, chunk)
    return sent


def _write_chunk(model: type[TableModel], requests: list[dict[str, Any]]) -> int:
    connection = model._get_connection()
    pending = requests
    for attempt in range(BATCH_WRITE_ATTEMPTS):
        data = connection.batch_write_item(
            put_items=[r["PutRequest"]["Item"] for r in pending if "PutRequest" in r],
            delete_items=[r["DeleteRequest"]["Key"] for r in pending if "DeleteRequest" in r],
        )
        pending = (data or {}).get("UnprocessedItems", {}).get(model.Meta.table_name, [])
        if not pending:
            return attempt + 1
        time.sleep(min(2.0, 0.05 * 2**attempt) * random.uniform(0.5, 1.0))
    raise PutError(f"{len(pending)} items still unprocessed after {BATCH_WRITE_ATTEMPTS} attempts")
