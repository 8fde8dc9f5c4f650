"""The identity rule (shared.domain.identity): the person and the phone, a confirmation's validity,
the number outreach may use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.identity import (
    Facts,
    Verdict,
    contact_key,
    decide,
    evidence_since,
    on_file,
    outreach_phone,
    still_valid,
)

PHONE = "5511999998888"
OTHER = "5521977776666"
NOW = datetime(2025, 3, 10, 12, tzinfo=UTC)
DAY = timedelta(hours=24)


def test_a_phone_not_on_file_gets_nothing_even_with_the_document():
    assert decide(Facts(OTHER, (PHONE,), frozenset(), True)) is Verdict.NOT_ON_FILE


def test_the_phone_on_file_needs_the_document_too():
    assert decide(Facts(PHONE, (PHONE,), frozenset(), False)) is Verdict.ASK_DOCUMENT
    assert decide(Facts(PHONE, (PHONE,), frozenset(), True)) is Verdict.CONFIRMED


def test_the_ninth_digit_is_tolerated_and_a_wrong_number_is_never_on_file():
    assert on_file("551199998888", [PHONE])
    assert decide(Facts(PHONE, (PHONE,), frozenset({PHONE}), True)) is Verdict.NOT_ON_FILE


def test_a_confirmation_holds_for_its_ttl_and_its_contact_only():
    contact = contact_key("T1", 1)
    assert still_valid(NOW, contact, contact=contact, now=NOW + DAY - timedelta(seconds=1), ttl=DAY)
    assert not still_valid(NOW, contact, contact=contact, now=NOW + DAY, ttl=DAY)
    assert not still_valid(NOW, contact, contact=contact_key("T1", 2), now=NOW, ttl=DAY)  # a follow-up
    assert not still_valid(NOW, contact, contact=contact_key("T2", 1), now=NOW, ttl=DAY)  # a new campaign
    assert not still_valid(None, None, contact=contact, now=NOW, ttl=DAY)


def test_a_document_counts_from_the_later_of_the_ttl_and_the_current_contact():
    assert evidence_since(NOW, DAY, None) == NOW - DAY
    assert evidence_since(NOW, DAY, NOW - timedelta(hours=2)) == NOW - timedelta(hours=2)
    assert evidence_since(NOW, DAY, NOW - timedelta(days=3)) == NOW - DAY


def test_outreach_skips_a_wrong_number_for_the_next_mobile_and_gives_up_when_none_is_left():
    landline = "551133334444"
    assert outreach_phone([PHONE, landline, OTHER], frozenset({PHONE}), PHONE) == OTHER
    assert outreach_phone([PHONE, landline], frozenset({PHONE}), PHONE) == landline
    assert outreach_phone([PHONE], frozenset({PHONE}), PHONE) is None
    assert outreach_phone([PHONE, OTHER], frozenset({OTHER}), PHONE) == PHONE
