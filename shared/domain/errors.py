"""Domain exceptions. Each carries a stable `code`; the API maps them to HTTP in one place
(functions/api) and the assistant maps them to Portuguese tool output in one place."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every expected, explainable failure of a business rule."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(DomainError):
    """A value that fails validation (document, phone, amount, date, time...)."""

    code = "invalid_input"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    """The write lost a race or the entity is not in a state that allows it."""

    code = "conflict"


class ServiceUnavailable(DomainError):
    """An outside service (CRM, Evolution, Twilio, OpenAI) could not give a usable answer."""

    code = "service_unavailable"


class Refused(DomainError):
    """An outside service (Evolution, Twilio) refused the request for good: sending it again would
    be refused again."""

    code = "refused"


class ConfigError(DomainError):
    code = "config_error"
