"""`from_environment`: how a settings model is read from the process environment (in place of
pydantic-settings): names in any case, aliases in order, overrides first, a prefix, errors by name."""

from __future__ import annotations

import pytest
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from shared.core.config import Settings, from_environment


class Sample(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    port: int = Field(default=8080, ge=0, le=65535)
    region: str = Field(
        default="sa-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    label: str | None = None


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PORT", "port", "AWS_REGION", "AWS_DEFAULT_REGION", "LABEL", "APP_PORT", "APP_LABEL"):
        monkeypatch.delenv(name, raising=False)


def test_a_field_is_read_from_its_name_in_any_case(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("port", "9000")
    monkeypatch.setenv("LABEL", "")

    sample = from_environment(Sample)

    assert (sample.port, sample.region, sample.label) == (9000, "sa-east-1", "")


def test_an_alias_list_is_read_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert from_environment(Sample).region == "us-east-1"

    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert from_environment(Sample).region == "eu-west-1"


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9000")

    assert from_environment(Sample, {"port": "9001"}).port == 9001


def test_a_prefix_names_the_variables_but_not_the_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "1")
    monkeypatch.setenv("APP_PORT", "2")

    assert from_environment(Sample, prefix="APP_").port == 2


def test_a_bad_value_is_reported_under_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "70000")

    with pytest.raises(ValidationError) as raised:
        from_environment(Sample)

    assert [error["loc"] for error in raised.value.errors()] == [("port",)]


def test_the_table_prefix_comes_from_its_own_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COBRANCA_TABLE_PREFIX", "staging")
    monkeypatch.setenv("TABLE_PREFIX", "ignored")

    assert from_environment(Settings).table_prefix == "staging"
