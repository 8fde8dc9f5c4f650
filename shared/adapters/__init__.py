"""Adapters to the outside: the CRM, Evolution, Twilio, promise schedules, queues, storage, the client registry, stream tokens."""
