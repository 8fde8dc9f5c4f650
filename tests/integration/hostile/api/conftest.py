"""The API over moto, as in tests/integration/api."""

from tests.integration.api.conftest import api  # noqa: F401  (the fixture)
