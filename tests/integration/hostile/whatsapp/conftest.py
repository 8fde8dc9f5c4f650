"""The webhook's world (simulators, the inbound FIFO queue), as in tests/integration/assistant."""

from tests.integration.assistant.conftest import servers, world  # noqa: F401  (the fixtures)
