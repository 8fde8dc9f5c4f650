"""Cases: one customer (CPF/CNPJ) per campaign, however many rows and files bring them in.

Pure rules, no storage and no clock:
- `fold_rows`: import rows of the same document become one `CaseDraft`;
- `merge`: a case (or none yet) takes a draft's invoices: an invoice it already has is a duplicate,
  invoices past `MAX_INVOICES_PER_CASE` are refused, and so is any new invoice of a closed case (it
  would never be collected: a new campaign collects it); the phones of the accepted and duplicate
  rows are kept (the ERP's replace the case's: `CaseDraft.phones_of_record`);
- `whatsapp_phone`: the number outreach uses, the first valid mobile;
- `open_case`: the new case a merge into nothing makes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Final, NamedTuple

from shared.domain.errors import InvalidInput
from shared.domain.ids import target_id
from shared.domain.models import Invoice, Target
from shared.domain.phones import parse_phone

# A customer with an invoice a month for the 5 years before debts are time-barred, on a few
# installation points, fits; the stored case stays a few kilobytes (DynamoDB bills writes per KB).
MAX_INVOICES_PER_CASE: Final = 100


class CaseRow(NamedTuple):
    """One accepted import row: a customer's identity and one of their invoices."""

    line: int
    document: str  # normalized
    client_name: str
    phone: str  # E.164 digits
    invoice: Invoice


class CaseDraft(NamedTuple):
    """The rows of one document, folded, in the order they came."""

    document: str
    client_name: str  # from the first row: a stored case keeps its own
    rows: tuple[CaseRow, ...]
    # The rows' phones are the customer's numbers on record at the source now (the ERP's sync): they
    # replace the case's numbers (but a supervisor's), and outreach moves to them. A spreadsheet's rows
    # only add numbers.
    phones_of_record: bool = False


class Merge(NamedTuple):
    """A case after taking a draft's rows, and what became of each row."""

    invoices: tuple[Invoice, ...]  # the case's invoices, old ones first
    phones: tuple[str, ...]  # distinct, old ones first
    added: tuple[CaseRow, ...]
    duplicates: tuple[CaseRow, ...]  # the case already had the invoice
    over_cap: tuple[CaseRow, ...]  # the case already had MAX_INVOICES_PER_CASE invoices
    closed: tuple[CaseRow, ...]  # a new invoice of a case that is closed (`completed`)
    new_phones: tuple[str, ...]  # numbers the case did not have (in `phones` too)
    phone: str | None = None  # the number outreach moves to (phones of record only), else the case's own


def invoice_key(invoice: Invoice) -> str:
    """What makes two invoices of a customer the same: the invoice number (rows without one share
    the empty key, so a case holds at most one invoice without a number)."""
    return invoice.invoice_number or ""


def fold_rows(rows: Iterable[CaseRow], *, phones_of_record: bool = False) -> list[CaseDraft]:
    """Group rows by document, each draft where its document first appears, rows in order;
    `phones_of_record` when the rows' phones are the customer's current numbers (the ERP's)."""
    grouped: dict[str, list[CaseRow]] = {}
    for row in rows:
        grouped.setdefault(row.document, []).append(row)
    return [
        CaseDraft(document, group[0].client_name, tuple(group), phones_of_record)
        for document, group in grouped.items()
    ]


def merge(
    invoices: Sequence[Invoice],
    phones: Sequence[str],
    rows: Sequence[CaseRow],
    *,
    closed: bool = False,
    phones_of_record: bool = False,
    kept_phones: Collection[str] = (),
) -> Merge:
    """The case holding `invoices` and `phones` (both empty for a case not stored yet) after taking
    `rows`: each row's invoice is added unless the case has it (duplicate), is `closed` (a completed
    case is never contacted again, so its new invoice would never be collected) or is full (over cap).
    The phone of an added or duplicate row is kept: a re-import or the ERP's sync brings the
    customer's current number with invoices the case already has. With `phones_of_record` (the ERP's
    sync) the rows' phones are the numbers the customer has now: outreach moves to them (`phone`), and
    a number the ERP replaced leaves the case — it is no longer on file for the identity check, nor
    contacted — unless it is one of `kept_phones` (a supervisor put it on the case)."""
    kept = list(invoices)
    known = {invoice_key(invoice) for invoice in kept}
    numbers = list(dict.fromkeys(phones))
    added: list[CaseRow] = []
    duplicates: list[CaseRow] = []
    over_cap: list[CaseRow] = []
    refused: list[CaseRow] = []
    for row in rows:
        key = invoice_key(row.invoice)
        if key in known:
            duplicates.append(row)
        elif closed:
            refused.append(row)
            continue
        elif len(kept) >= MAX_INVOICES_PER_CASE:
            over_cap.append(row)
            continue
        else:
            known.add(key)
            kept.append(row.invoice)
            added.append(row)
        if row.phone not in numbers:
            numbers.append(row.phone)
    new_phones = tuple(numbers[len(dict.fromkeys(phones)) :])
    of_record = [row.phone for row in (*added, *duplicates)] if phones_of_record else []
    if of_record:
        numbers = [number for number in numbers if number in of_record or number in kept_phones]
    return Merge(
        tuple(kept),
        tuple(numbers),
        tuple(added),
        tuple(duplicates),
        tuple(over_cap),
        tuple(refused),
        new_phones,
        whatsapp_phone(of_record) if of_record else None,
    )


def whatsapp_phone(phones: Sequence[str]) -> str:
    """The number outreach uses: the first valid mobile (WhatsApp needs one), else the first."""
    if not phones:
        raise ValueError("a case has at least one phone")
    for phone in phones:
        try:
            if parse_phone(phone).is_mobile:
                return phone
        except InvalidInput:
            continue
    return phones[0]


def open_case(
    campaign_id: str, draft: CaseDraft, merged: Merge, import_id: str | None, now: datetime
) -> Target:
    """The new case of `draft`'s customer, holding what `merge` accepted; due at once."""
    if not merged.invoices:
        raise ValueError("a case is opened with at least one invoice")
    return Target(
        id=target_id(campaign_id, draft.document),
        campaign_id=campaign_id,
        client_name=draft.client_name,
        phone=whatsapp_phone(merged.phones),
        phones=list(merged.phones),
        document=draft.document,
        invoices=list(merged.invoices),
        next_attempt_at=now,
        import_id=import_id,
        created_at=now,
        updated_at=now,
    )
