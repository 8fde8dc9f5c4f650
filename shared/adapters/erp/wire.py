"""What the ERP adapters do alike on the wire: send with an explicit timeout and read only a JSON
object, failing closed (`CrmUnavailable`) on anything else, and coerce the loose types these backends
return (numbers as strings, Django-style booleans).

Error messages name the system and the kind of failure only — never a body, which may carry a CPF,
a phone or a plaintext password.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared.adapters.billing import OverdueFilter, UnlockResult, UnlockStatus
from shared.adapters.crm import CrmUnavailable, Debt, Invoice, normalize_phones
from shared.core import clock
from shared.domain.errors import InvalidInput
from shared.domain.money import parse_money
from shared.domain.time_bar import time_bar_cutoff

BRAZIL = ZoneInfo("America/Sao_Paulo")
_TRUE = {"true", "1", "sim", "s", "yes"}


def send(http: httpx.Client, method: str, url: str, *, system: str, **kwargs: Any) -> httpx.Response:
    """One request; transport failures (timeouts, refused connections) are `CrmUnavailable`."""
    try:
        return http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise CrmUnavailable(f"{system} request failed: {type(exc).__name__}") from None


def json_object(response: httpx.Response, system: str) -> dict[str, Any]:
    """The body of an HTTP 200 that is a JSON object; any other status (auth failures, 5xx) or body
    (an HTML login page served with 200) is `CrmUnavailable`."""
    if response.status_code != 200:
        raise CrmUnavailable(f"{system} answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        raise CrmUnavailable(f"{system} answered a body that is not JSON") from None
    if not isinstance(body, dict):
        raise CrmUnavailable(f"{system} answered JSON that is not an object")
    return body


@contextmanager
def parsing(system: str) -> Iterator[None]:
    """Turn a body that does not have the expected shape into `CrmUnavailable`."""
    try:
        yield
    except (ValueError, KeyError, TypeError, AttributeError, InvalidOperation, InvalidInput) as exc:
        raise CrmUnavailable(f"{system} answered a malformed body: {type(exc).__name__}") from None


def amount(value: Any) -> Decimal:
    """Money as these ERPs send it: a JSON number or a decimal string ("119.9")."""
    if value is None or isinstance(value, bool):
        raise ValueError("not an amount")
    return parse_money(value)


def flag(value: Any) -> bool:
    """A boolean as a Django backend sends it: true, "true", "True", 1, "1"."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def text(value: Any) -> str:
    """A display value, trimmed (SGP pads labels with spaces); "" for null."""
    return "" if value is None else str(value).strip()


def local_today(zone: ZoneInfo = BRAZIL) -> date:
    return clock.now().astimezone(zone).date()


def days_overdue(due: date, today: date) -> int:
    return max(0, (today - due).days)


def overdue_window(filters: OverdueFilter, today: date) -> tuple[date, date]:
    """The due dates an overdue sync asks for: from `max_days_overdue` ago (or about the time bar)
    up to `min_days_overdue` ago."""
    newest = today - timedelta(days=filters.min_days_overdue)
    if filters.max_days_overdue is not None:
        return today - timedelta(days=filters.max_days_overdue), newest
    # From the time bar's cutoff: nothing older is collectible (`Debt.collectible` applies the rule).
    return time_bar_cutoff(today), newest


def minimum_amount(filters: OverdueFilter) -> Decimal:
    """The filter's minimum debt; a malformed one is bad input (a 4xx), not an ERP failure."""
    if filters.min_amount is None:
        return Decimal("0.00")
    try:
        return parse_money(filters.min_amount)
    except InvalidInput:
        raise InvalidInput("min_amount must be an amount such as 50.00") from None


def wanted_statuses(filters: OverdueFilter) -> frozenset[str] | None:
    """The contract statuses a sync keeps (comma-separated, the ERP's own codes or labels, any
    case); None keeps every status."""
    if filters.contract_status is None:
        return None
    return frozenset(s.strip().lower() for s in filters.contract_status.split(",") if s.strip())


def fold_debt(name: str, document: str, invoices: Iterable[Invoice], phones: Iterable[str] = ()) -> Debt:
    """A customer's open invoices as one `Debt`, oldest first (the time bar applies in `Debt`), with
    the phones the ERP has for them (normalized: phones on file for the identity check)."""
    ordered = tuple(sorted(invoices, key=lambda i: (i.due_date, i.number)))
    total = sum((i.amount for i in ordered), Decimal("0.00"))
    return Debt(name, document, total, ordered, phones=normalize_phones(phones))


def first_unlocked(results: Sequence[UnlockResult]) -> UnlockResult:
    """The outcome of unlocking each of a customer's contracts: the first one unlocked, else the
    first refusal (`results` is never empty)."""
    return next((r for r in results if r.status is UnlockStatus.UNLOCKED), results[0])


def parse_day(value: Any) -> date:
    """A date as `YYYY-MM-DD` or the Brazilian `DD/MM/YYYY` (a time after it is ignored)."""
    raw = text(value).split(" ")[0]
    if "/" in raw:
        day, month, year = raw.split("/")
        return date(int(year), int(month), int(day))
    return date.fromisoformat(raw)
