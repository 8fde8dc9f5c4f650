"""The SGP and Hubsoft sections of the settings: every missing variable named, URLs validated,
secrets never printed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.core.config import get_settings, reset_settings
from shared.domain.errors import ConfigError

SGP = {"SGP_API_URL": "https://sgp.isp.example/", "SGP_TOKEN": "sgp-token-SECRET", "SGP_APP": "Cobranca"}
HUBSOFT = {
    "HUBSOFT_API_URL": "https://api.isp.hubsoft.com.br",
    "HUBSOFT_CLIENT_ID": "7",
    "HUBSOFT_CLIENT_SECRET": "client-SECRET",
    "HUBSOFT_USERNAME": "cobranca@isp.example",
    "HUBSOFT_PASSWORD": "password-SECRET",
}


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("COBRANCA_SECRETS_ARN", raising=False)
    for name in (*SGP, *HUBSOFT):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    yield
    reset_settings()


def test_sgp_and_hubsoft_sections_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (SGP | HUBSOFT).items():
        monkeypatch.setenv(name, value)

    settings = get_settings()
    sgp, hubsoft = settings.sgp(), settings.hubsoft()

    assert sgp.url == "https://sgp.isp.example" and sgp.app == "Cobranca"
    assert sgp.token.get_secret_value() == "sgp-token-SECRET"
    assert hubsoft.username == "cobranca@isp.example" and hubsoft.client_id == "7"
    assert hubsoft.password.get_secret_value() == "password-SECRET"
    assert "SECRET" not in repr(settings) + repr(sgp) + repr(hubsoft)


def test_every_missing_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="SGP_API_URL, SGP_TOKEN, SGP_APP"):
        get_settings().sgp()
    with pytest.raises(
        ConfigError,
        match="HUBSOFT_API_URL, HUBSOFT_CLIENT_ID, HUBSOFT_CLIENT_SECRET, HUBSOFT_USERNAME, HUBSOFT_PASSWORD",
    ):
        get_settings().hubsoft()


def test_an_erp_url_without_a_scheme_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBSOFT_API_URL", "api.isp.hubsoft.com.br")

    with pytest.raises(ConfigError, match="HUBSOFT_API_URL"):
        get_settings()
