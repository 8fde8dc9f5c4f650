"""`Settings.ixc()` and `BILLING_SYSTEM`: the IXC section of the settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.core.config import Settings
from shared.domain.errors import ConfigError

IXC = {"IXC_API_URL": "https://ixc.provedor.example/", "IXC_API_USER": "41", "IXC_API_TOKEN": "89ac-secret"}


def settings(**values: str) -> Settings:
    return Settings.model_validate({name.lower(): value for name, value in values.items()})


def test_ixc_section_is_the_host_user_and_a_secret_token() -> None:
    config = settings(**IXC).ixc()

    assert (config.url, config.user_id, config.token.get_secret_value()) == (
        "https://ixc.provedor.example",
        "41",
        "89ac-secret",
    )
    assert "89ac-secret" not in repr(config) and "89ac-secret" not in repr(settings(**IXC))


def test_ixc_url_given_with_the_webservice_path_is_reduced_to_the_host() -> None:
    config = settings(**IXC | {"IXC_API_URL": "https://ixc.provedor.example/webservice/v1/"}).ixc()

    assert config.url == "https://ixc.provedor.example"


def test_ixc_names_every_missing_variable() -> None:
    with pytest.raises(ConfigError, match="IXC_API_USER, IXC_API_TOKEN"):
        settings(IXC_API_URL="https://ixc.provedor.example").ixc()


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [("IXC_API_USER", "admin", "numeric id"), ("IXC_API_URL", "ixc.provedor.example", "http")],
)
def test_ixc_rejects_a_login_name_or_a_bare_host(name: str, value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        settings(**IXC | {name: value}).ixc()


def test_billing_system_defaults_to_the_generic_crm_and_knows_only_its_adapters() -> None:
    assert settings().billing_system == "generic"
    assert settings(BILLING_SYSTEM="ixc").billing_system == "ixc"
    with pytest.raises(ValidationError):
        settings(BILLING_SYSTEM="mk")
