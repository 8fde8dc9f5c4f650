"""The voice bridge's world, as in tests/integration/voice."""

from tests.integration.voice.conftest import servers, voice  # noqa: F401  (the fixtures)
