"""The data layer's pure parts: ids, attribute codecs, cursors and the table specs the CDK app reads."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from shared.data import table_specs
from shared.data.attributes import DecimalAttribute, IsoDateAttribute, IsoDateTimeAttribute, iso_utc
from shared.data.pagination import decode_cursor, encode_cursor
from shared.domain.errors import InvalidInput
from shared.domain.ids import id_time, new_id, target_id
from shared.domain.pages import Page

CROCKFORD_ID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")


def test_new_ids_are_ulid_shaped_and_carry_the_clock_time(clock):
    made = new_id()

    assert CROCKFORD_ID.match(made)
    assert id_time(made) == clock.now()


def test_new_ids_sort_in_creation_order_even_when_the_clock_stands_still(clock):
    ids = [new_id() for _ in range(500)]
    clock.advance(timedelta(milliseconds=1))
    ids.append(new_id())

    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_target_id_is_one_per_customer_and_campaign():
    a = target_id("C1", "52998224725")

    assert a == target_id("C1", "52998224725")
    assert len(a) == 20 and re.match(r"^[0-9A-Z]+$", a)
    assert len({a, target_id("C1", "11144477735"), target_id("C2", "52998224725")}) == 3


@pytest.mark.parametrize("amount", ["89.90", "0.01", "1234567.89", "150", "1E+2"])
def test_decimal_attribute_round_trips_the_exact_text(amount):
    attribute = DecimalAttribute()

    stored = attribute.serialize(Decimal(amount))

    assert stored == amount
    assert str(attribute.deserialize(stored)) == amount


def test_decimal_attribute_rejects_floats_and_nan():
    with pytest.raises(TypeError):
        DecimalAttribute().serialize(89.9)
    with pytest.raises(ValueError):
        DecimalAttribute().serialize(Decimal("NaN"))


def test_datetimes_are_stored_as_sortable_utc_text():
    attribute = IsoDateTimeAttribute()
    sao_paulo = datetime(2025, 3, 10, 9, 0, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("America/Sao_Paulo")
    )

    stored = attribute.serialize(sao_paulo)

    assert stored == "2025-03-10T09:00:00.000000Z"
    assert attribute.deserialize(stored) == sao_paulo
    assert iso_utc(datetime(2025, 3, 10, 9, 0, 0, 1, tzinfo=UTC)) > stored
    with pytest.raises(ValueError):
        attribute.serialize(datetime(2025, 3, 10, 9, 0))  # naive


def test_datetimes_before_year_1000_keep_their_fixed_width_and_read_back():
    attribute = IsoDateTimeAttribute()
    early = datetime(32, 12, 29, 6, 45, 59, 500000, tzinfo=UTC)
    stored = attribute.serialize(early)
    assert stored == "0032-12-29T06:45:59.500000Z"
    assert attribute.deserialize(stored) == early


def test_dates_are_iso():
    assert IsoDateAttribute().serialize(date(2025, 2, 10)) == "2025-02-10"
    assert IsoDateAttribute().deserialize("2025-02-10") == date(2025, 2, 10)


def test_cursor_round_trips_and_is_url_safe():
    key = {
        "campaign_id": {"S": "C1"},
        "oldest_due": {"S": "2025-02-10"},
        "id": {"S": "x"},
    }

    cursor = encode_cursor("targets:C1", key)

    assert cursor is not None and re.match(r"^[A-Za-z0-9_-]+$", cursor)
    assert decode_cursor("targets:C1", cursor) == key
    assert encode_cursor("targets:C1", None) is None
    assert decode_cursor("targets:C1", None) is None


@pytest.mark.parametrize("cursor", ["%%%", "bm90IGpzb24", "W10"])
def test_bad_or_foreign_cursors_are_invalid_input(cursor):
    foreign = encode_cursor("targets:C2", {"id": {"S": "x"}})
    with pytest.raises(InvalidInput):
        decode_cursor("targets:C1", cursor)
    with pytest.raises(InvalidInput):
        decode_cursor("targets:C1", foreign)


def test_page_defaults():
    assert Page[int]().items == [] and Page[int]().next_cursor is None


def test_table_specs_describe_every_table_for_the_cdk_app():
    specs = {spec.suffix: spec for spec in table_specs()}

    assert set(specs) == {
        "access_log",
        "campaigns",
        "contact_log",
        "conversations",
        "counters",
        "dedupe",
        "imports",
        "messages",
        "optouts",
        "phone_index",
        "promises",
        "targets",
    }
    assert all(spec.billing_mode == "PAY_PER_REQUEST" for spec in specs.values())
    assert specs["dedupe"].ttl_attribute == "expires_at"
    assert specs["contact_log"].ttl_attribute == "expires_at"
    assert specs["campaigns"].ttl_attribute is None
    targets = specs["targets"]
    indexes = {index.name: index for index in targets.global_indexes}
    assert set(indexes) == {
        "by_agenda",
        "by_campaign_amount",
        "by_campaign_age",
        "by_document",
        "by_call_sid",
    }
    assert (indexes["by_campaign_amount"].range_key.name, indexes["by_campaign_amount"].range_key.type) == (
        "debt_cents",
        "N",
    )
    phone_index = specs["phone_index"]
    assert (phone_index.hash_key.name, phone_index.range_key and phone_index.range_key.name) == (
        "phone",
        "document",
    )
    assert indexes["by_agenda"].hash_key.name == "campaign_id"
    assert indexes["by_agenda"].range_key is not None
    assert indexes["by_agenda"].range_key.name == "agenda"
    assert indexes["by_call_sid"].range_key is None
    # A case is written far more often than listed: its indexes hold keys (a transition moves none
    # but the agenda's), listings fetch the cases and filter them.
    assert all(index.projection == "KEYS_ONLY" for index in indexes.values())
    messages = specs["messages"]
    assert messages.range_key is not None and messages.range_key.name == "sort_key"
    assert specs["targets"].table_name("cobranca-prod") == "cobranca-prod-targets"
