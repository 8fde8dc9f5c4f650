"""The process core: settings, the clock, observability and the queue job bodies."""
