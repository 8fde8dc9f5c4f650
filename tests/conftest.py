"""Fixtures shared by the whole suite.

- `aws_env`: fake credentials and region, no endpoint override, settings re-read (never real AWS).
- `aws`: `aws_env` plus a fresh in-process moto for the test: every AWS service starts empty.
- `tables`: `aws` plus every DynamoDB table of `shared.data`, empty.
- `clock`: a `VirtualClock` at `FIXED_NOW`, the previous clock restored afterwards.
- `make_campaign`, `make_target`, `make_promise`, `make_conversation`, `make_message`: builders of valid
  domain objects (keyword arguments override any field).
- `dynamodb_requests`: the DynamoDB requests the data layer makes while the test runs.

Speed: every test's moto runs with the sandbox's changes to how moto's DynamoDB does its work, never to
what it answers (`infra.local.moto_speedups`, its equivalence in `tests/integration/sandbox/
test_moto_speedups.py`): stock moto deep-copies every table a TransactWriteItems touches, whole, so
each transaction costs the size of the table and an import of 2,000 rows took ~100 s instead of ~2 s.
Applied once here, so a worker's tests no longer run on stock or patched moto depending on whether
`test_moto_speedups` ran in that worker before them.

Creating the eleven tables through the API costs ~25 ms a test under moto. Instead the first
`tables` of a process creates them and keeps a deep copy of moto's empty table objects; later tests
put fresh copies of those into their new moto backend (~3 ms). If moto's internals ever change
shape, it falls back to `create_tables()`. Everything is per process, so pytest-xdist workers never
share state.

Every `mock_aws()` starts with no default boto3 session, so each test's first `boto3.client(...)` builds
a new botocore session whose loader parses botocore's JSON again (endpoints, each service's model and
paginators: ~15 files, ~0.15 s a test, a fifth of an API test's time). `_share_botocore_data()` lets
every loader of the process share what it has parsed, per search path: the files never change while
the suite runs, and botocore already hands a loader's parsed models to all of that loader's clients.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from moto import mock_aws

from infra.local import moto_speedups
from shared.core import clock as clock_module
from shared.core.config import reset_settings
from shared.data import bind, create_tables
from shared.domain.ids import conversation_id, new_id, target_id
from shared.domain.models import (
    Campaign,
    ContactMethod,
    Conversation,
    ConversationSource,
    Invoice,
    Message,
    Promise,
    Sender,
    Target,
)

# A Monday, 09:00 in São Paulo: inside every contact window.
FIXED_NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TEST_REGION = "sa-east-1"
TEST_TABLE_PREFIX = "test"

_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_REGION": TEST_REGION,
    "AWS_DEFAULT_REGION": TEST_REGION,
    "COBRANCA_TABLE_PREFIX": TEST_TABLE_PREFIX,
}
moto_speedups.apply()


def _share_botocore_data() -> None:
    """Parsed botocore data (`Loader._cache`, see the module docstring) shared by every loader with the
    same search paths; a loader whose paths differ (boto3 appends its resource models) has its own."""
    from botocore.loaders import Loader

    shared: dict[tuple[str, ...], dict[Any, Any]] = {}

    def cache(loader: Loader) -> dict[Any, Any]:
        return shared.setdefault(tuple(loader.search_paths), {})

    Loader._cache = property(cache, lambda loader, value: None)  # type: ignore[assignment,method-assign]


_share_botocore_data()

_pristine_tables: dict[str, Any] | None = None
_pristine_account: str | None = None


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake AWS credentials/region; no endpoint override (a developer's sandbox variables are ignored)."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "COBRANCA_SECRETS_ARN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in _AWS_ENV.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    yield
    reset_settings()


@pytest.fixture
def aws(aws_env: None) -> Iterator[None]:
    """A fresh, empty in-process moto for every AWS service, with the data layer bound to it."""
    with mock_aws():
        bind()
        yield


@pytest.fixture
def tables(aws: None) -> None:
    """Every table of `shared.data`, empty."""
    global _pristine_tables, _pristine_account
    if _pristine_tables is not None and _restore_tables(_pristine_account, _pristine_tables):
        return
    names = set(create_tables())
    try:
        account, backend = _moto_dynamodb()
        _pristine_tables = {name: copy.deepcopy(backend.tables[name]) for name in names}
        _pristine_account = account
    except (ImportError, AttributeError, KeyError, LookupError):
        _pristine_tables = None  # unknown moto internals: keep creating through the API


@pytest.fixture
def clock() -> Iterator[clock_module.VirtualClock]:
    """A virtual clock standing at `FIXED_NOW` (advance or set it in the test)."""
    virtual = clock_module.VirtualClock(FIXED_NOW)
    previous = clock_module.set_clock(virtual)
    yield virtual
    clock_module.set_clock(previous)


@pytest.fixture
def make_campaign() -> Callable[..., Campaign]:
    def build(**overrides: Any) -> Campaign:
        now = clock_module.now()
        fields: dict[str, Any] = {
            "id": new_id(),
            "name": "Março",
            "contact_method": ContactMethod.WHATSAPP_PRIMARY,
            "created_at": now,
            "updated_at": now,
        }
        return Campaign(**(fields | overrides))

    return build


@pytest.fixture
def make_target() -> Callable[..., Target]:
    def build(**overrides: Any) -> Target:
        now = clock_module.now()
        fields: dict[str, Any] = {
            "campaign_id": "C1",
            "client_name": "Maria Silva",
            "phone": "5511999998888",
            "document": "52998224725",
            "invoices": [Invoice(invoice_number="F-1", amount=Decimal("89.90"), due_date=date(2025, 2, 10))],
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        } | overrides
        fields.setdefault("id", target_id(fields["campaign_id"], fields["document"]))
        return Target(**fields)

    return build


@pytest.fixture
def make_promise() -> Callable[..., Promise]:
    def build(**overrides: Any) -> Promise:
        now = clock_module.now()
        fields: dict[str, Any] = {
            "id": new_id(),
            "document": "52998224725",
            "amount": Decimal("150.00"),
            "due_date": (now + timedelta(days=3)).date(),
            "due_at": now + timedelta(days=3),
            "timezone": "America/Sao_Paulo",
            "created_at": now,
            "updated_at": now,
        }
        return Promise(**(fields | overrides))

    return build


@pytest.fixture
def make_conversation() -> Callable[..., Conversation]:
    def build(**overrides: Any) -> Conversation:
        now = clock_module.now()
        fields: dict[str, Any] = {
            "chat_id": "whatsapp_5511999998888",
            "phone": "5511999998888",
            "source": ConversationSource.WHATSAPP_CAMPAIGN,
            "last_activity_at": now,
            "created_at": now,
            "updated_at": now,
        } | overrides
        fields.setdefault("id", conversation_id(fields["chat_id"]))
        return Conversation(**fields)

    return build


@pytest.fixture
def make_message() -> Callable[..., Message]:
    def build(**overrides: Any) -> Message:
        fields: dict[str, Any] = {
            "id": new_id(),
            "conversation_id": "CONV1",
            "sender": Sender.CUSTOMER,
            "content": "Oi",
            "created_at": clock_module.now(),
        }
        return Message(**(fields | overrides))

    return build


@pytest.fixture
def dynamodb_requests(aws: None) -> Iterator[list[tuple[str, str]]]:
    """Every DynamoDB request of the data layer's client from now on, as (operation, table without the
    prefix, `.<index>` for an index's Query), a write its condition refused included; clear it to
    watch one step."""
    from shared.core.config import get_settings
    from shared.data.messages import MessageRecord

    client = MessageRecord._get_connection().connection.client
    prefix = f"{get_settings().table_prefix}-"
    made: list[tuple[str, str]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        index = params.get("IndexName")
        table = str(params.get("TableName", "")).removeprefix(prefix)
        made.append((model.name, f"{table}.{index}" if index else table))

    event, hook = "before-parameter-build.dynamodb", "dynamodb-requests"
    client.meta.events.register(event, record, unique_id=hook)
    try:
        yield made
    finally:
        client.meta.events.unregister(event, unique_id=hook)


def _moto_dynamodb() -> tuple[str, Any]:
    """(account id, moto DynamoDB backend) of the test region, where the tables were just created."""
    from moto.dynamodb.models import dynamodb_backends

    for account, region, backend in dynamodb_backends.iter_backends():
        if region == TEST_REGION and backend.tables:
            return account, backend
    raise LookupError("no moto DynamoDB backend holds the tables")


def _restore_tables(account: str | None, pristine: dict[str, Any]) -> bool:
    try:
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[account][TEST_REGION]
        backend.tables.update({name: copy.deepcopy(table) for name, table in pristine.items()})
    except (ImportError, AttributeError, KeyError):
        return False
    return True
