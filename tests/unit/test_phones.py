from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from shared.core.config import reset_settings
from shared.domain.errors import InvalidInput
from shared.domain.phones import (
    DDD_STATES,
    STATES,
    BrazilianPhone,
    InvalidPhone,
    InvalidState,
    is_mobile,
    is_valid_ddd,
    normalize_phone,
    parse_phone,
    phones_match,
    state_for_ddd,
    timezone_for_phone,
    timezone_for_state,
)

ALL_DDDS = (
    "11 12 13 14 15 16 17 18 19 21 22 24 27 28 31 32 33 34 35 37 38 41 42 43 44 45 46 47 48 49 "
    "51 53 54 55 61 62 63 64 65 66 67 68 69 71 73 74 75 77 79 81 82 83 84 85 86 87 88 89 "
    "91 92 93 94 95 96 97 98 99"
).split()


@pytest.fixture
def settings_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("COBRANCA_TIMEZONE", "America/Recife")
    reset_settings()
    yield
    reset_settings()


# --- input forms ---


@pytest.mark.parametrize(
    "raw",
    [
        "5511999998888",
        "+55 (11) 99999-8888",
        "+5511999998888",
        "11 99999 8888",
        "(11) 99999-8888",
        "11999998888",
        "011 99999-8888",
        "0 21 11 99999-8888",
        "0xx11 99999-8888",
        "(0XX11) 99999-8888",
        "0055 11 99999 8888",
        "5511999998888.0",
        "5.511999998888E12",
        "5.511999998888E+12",
        "5,511999998888E+12",
        "5511999998888,0",
        "  55 11 99999.8888\xa0",
    ],
)
def test_common_forms_of_a_mobile_normalize_to_e164_digits(raw: str) -> None:
    assert normalize_phone(raw) == "5511999998888"


@pytest.mark.parametrize(
    "raw", ["(11) 3333-4444", "1133334444", "551133334444", "+55 11 3333 4444", "1133334444.0"]
)
def test_landline_normalizes_without_a_ninth_digit(raw: str) -> None:
    phone = parse_phone(raw)
    assert phone == BrazilianPhone(
        e164="551133334444", ddd="11", subscriber="33334444", is_mobile=False, state="SP"
    )


def test_mobile_is_parsed_into_its_parts() -> None:
    assert parse_phone("+55 (31) 99829-6801") == BrazilianPhone(
        e164="5531998296801", ddd="31", subscriber="998296801", is_mobile=True, state="MG"
    )


@pytest.mark.parametrize("raw", ["553198296801", "3198296801", "(31) 9829-6801"])
def test_old_eight_digit_mobile_gets_the_ninth_digit(raw: str) -> None:
    phone = parse_phone(raw)
    assert phone.e164 == "5531998296801"
    assert phone.is_mobile


def test_eleven_digits_starting_with_55_is_ddd_55_not_the_country_code() -> None:
    phone = parse_phone("55 99999-8888")
    assert (phone.e164, phone.ddd, phone.state) == ("5555999998888", "55", "RS")


def test_carrier_prefixed_landline_drops_trunk_and_carrier() -> None:
    assert normalize_phone("0 15 21 3333-4444") == "552133334444"


# --- rejections ---


@pytest.mark.parametrize(
    "ddd", ["20", "23", "25", "26", "29", "30", "36", "39", "40", "50", "52", "56", "60", "70"]
)
def test_unknown_ddd_is_rejected_naming_it(ddd: str) -> None:
    with pytest.raises(InvalidPhone, match=f"unknown area code \\(DDD\\) '{ddd}'"):
        parse_phone(f"{ddd} 99999-8888")


@pytest.mark.parametrize("raw", ["", "   ", "99999-8888", "119999888", "12345"])
def test_too_short_number_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidPhone, match="empty|too short"):
        parse_phone(raw)


def test_number_without_ddd_explains_the_missing_area_code() -> None:
    with pytest.raises(InvalidPhone, match=r"too short \(9 digits\).*area code"):
        parse_phone("99999-8888")


@pytest.mark.parametrize("raw", ["55119999988880", "+55 11 99999 88880", "123456789012345"])
def test_too_long_number_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidPhone, match="too long|after the country code 55"):
        parse_phone(raw)


def test_twelve_digits_without_country_code_are_rejected() -> None:
    with pytest.raises(InvalidPhone, match="12-digit number must start with the country code 55"):
        parse_phone("441133334444")


@pytest.mark.parametrize("raw", ["11 9999a-8888", "fone: 11999998888", "ONZE"])
def test_letters_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidPhone, match="contains letters"):
        parse_phone(raw)


def test_foreign_country_code_is_rejected() -> None:
    with pytest.raises(InvalidPhone, match="only Brazilian numbers"):
        parse_phone("+1 (415) 555-0100")


def test_nine_digit_subscriber_not_starting_with_9_is_rejected() -> None:
    with pytest.raises(InvalidPhone, match="must start with 9"):
        parse_phone("11 89999-8888")


@pytest.mark.parametrize("raw", ["11 0333-4444", "11 1333-4444"])
def test_eight_digit_subscriber_starting_with_0_or_1_is_rejected(raw: str) -> None:
    with pytest.raises(InvalidPhone, match="must start with 2-5 .* or 6-9"):
        parse_phone(raw)


def test_scientific_notation_that_lost_digits_is_rejected() -> None:
    # Excel's display "5.512E+12" would silently become 5512000000000.
    with pytest.raises(InvalidPhone, match="lost digits"):
        parse_phone("5.512E+12")


def test_scientific_notation_with_a_fraction_is_rejected() -> None:
    with pytest.raises(InvalidPhone, match="not a whole number"):
        parse_phone("5.5119999988885E12")


def test_other_symbols_are_rejected() -> None:
    with pytest.raises(InvalidPhone, match="only digits"):
        parse_phone("11#99999#8888")


def test_invalid_phone_is_an_invalid_input_with_a_stable_code_and_no_echo() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_phone("20 99999-8888")
    assert caught.value.code == "invalid_phone"
    assert "99999" not in str(caught.value)


def test_non_text_phone_is_rejected_not_crashing() -> None:
    with pytest.raises(InvalidPhone, match="must be text, got int"):
        parse_phone(5511999998888)  # type: ignore[arg-type]


# --- DDD, state and zone tables ---


def test_ddd_table_has_exactly_brazils_67_area_codes() -> None:
    assert sorted(DDD_STATES) == sorted(ALL_DDDS)
    assert len(ALL_DDDS) == 67


def test_every_state_has_at_least_one_ddd_and_a_zone() -> None:
    assert len(STATES) == 27
    assert set(DDD_STATES.values()) == STATES
    for uf in STATES:
        assert isinstance(timezone_for_state(uf), ZoneInfo)


@pytest.mark.parametrize(
    ("ddd", "uf"),
    [
        ("11", "SP"),
        ("21", "RJ"),
        ("27", "ES"),
        ("31", "MG"),
        ("55", "RS"),
        ("61", "DF"),
        ("63", "TO"),
        ("68", "AC"),
        ("92", "AM"),
        ("97", "AM"),
        ("96", "AP"),
        ("99", "MA"),
        ("79", "SE"),
        ("87", "PE"),
    ],
)
def test_state_for_ddd(ddd: str, uf: str) -> None:
    assert state_for_ddd(ddd) == uf
    assert is_valid_ddd(ddd)


@pytest.mark.parametrize("ddd", ["20", "23", "00", "1", "111", ""])
def test_unknown_ddd_is_not_valid(ddd: str) -> None:
    assert not is_valid_ddd(ddd)
    with pytest.raises(InvalidPhone):
        state_for_ddd(ddd)


@pytest.mark.parametrize(
    ("uf", "zone"),
    [
        ("AC", "America/Rio_Branco"),
        ("AM", "America/Manaus"),
        ("RR", "America/Boa_Vista"),
        ("RO", "America/Porto_Velho"),
        ("MT", "America/Cuiaba"),
        ("MS", "America/Campo_Grande"),
        ("PA", "America/Belem"),
        ("AP", "America/Belem"),
        ("TO", "America/Araguaina"),
        ("CE", "America/Fortaleza"),
        ("PE", "America/Recife"),
        ("AL", "America/Maceio"),
        ("BA", "America/Bahia"),
        ("SP", "America/Sao_Paulo"),
        ("RS", "America/Sao_Paulo"),
        ("DF", "America/Sao_Paulo"),
        ("sp", "America/Sao_Paulo"),
    ],
)
def test_timezone_for_state(uf: str, zone: str) -> None:
    assert timezone_for_state(uf) == ZoneInfo(zone)


def test_unknown_state_is_rejected() -> None:
    with pytest.raises(InvalidState, match="unknown Brazilian state"):
        timezone_for_state("XX")


def test_timezone_for_phone_follows_the_ddd() -> None:
    assert timezone_for_phone("5568999998888") == ZoneInfo("America/Rio_Branco")
    assert timezone_for_phone("5592999998888") == ZoneInfo("America/Manaus")
    assert timezone_for_phone("5511999998888") == ZoneInfo("America/Sao_Paulo")


def test_timezone_for_phone_falls_back_to_the_given_default() -> None:
    default = ZoneInfo("America/Manaus")
    assert timezone_for_phone(None, default) == default
    assert timezone_for_phone("garbage", default) == default


@pytest.mark.usefixtures("settings_zone")
def test_timezone_for_phone_falls_back_to_the_configured_zone() -> None:
    assert timezone_for_phone(None) == ZoneInfo("America/Recife")
    assert timezone_for_phone("5520999998888") == ZoneInfo("America/Recife")


# --- WhatsApp ---


def test_ninth_digit_pair_matches_both_ways() -> None:
    assert phones_match("553198296801", "5531998296801")
    assert phones_match("5531998296801", "553198296801")


def test_different_numbers_do_not_match() -> None:
    assert not phones_match("5531998296801", "5531998296802")
    assert not phones_match("5531998296801", "5532998296801")


def test_landline_does_not_match_the_mobile_with_a_nine_in_front() -> None:
    assert not phones_match("551133334444", "5511933334444")


def test_unparseable_numbers_match_nothing() -> None:
    assert not phones_match("garbage", "garbage")
    assert not phones_match("5511999998888", "")


@pytest.mark.parametrize("raw", ["5511999998888", "(11) 99999-8888", "553198296801", "+55 31 9829-6801"])
def test_is_mobile_for_every_written_form_of_a_mobile(raw: str) -> None:
    assert is_mobile(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "551133334444",  # a landline
        "(11) 3333-4444",
        "5520999998888",  # no state has DDD 20
        "119999888",  # too short: DDD + 7 digits
        "not a phone",
        "",
    ],
)
def test_is_mobile_is_false_for_landlines_and_non_numbers(raw: str) -> None:
    assert not is_mobile(raw)
