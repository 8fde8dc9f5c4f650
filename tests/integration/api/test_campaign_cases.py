"""A campaign's cases as the campaign page lists them: by amount or by age (the oldest invoice's due
date), filtered by state and/or outcome, a page at a time through `X-Next-Cursor` — read from the
amount and age indexes, never a scan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from shared.data import targets
from shared.domain.models import Invoice, Outcome, Target, TargetState
from tests.integration.api.conftest import Api

# document → (invoice amounts, their due dates)
CASES = {
    "52998224725": (["50.00"], [date(2025, 2, 1)]),
    "11144477735": (["300.00", "20.00"], [date(2025, 1, 5), date(2025, 2, 20)]),
    "39053344705": (["89.90"], [date(2024, 12, 10)]),
    "86288366757": (["1200.00"], [date(2025, 2, 25)]),
    "71428793860": (["5.00"], [date(2025, 1, 20)]),
}


def _seed(api: Api, make_target: Callable[..., Target]) -> str:
    campaign = api.create_campaign(name="Março")
    drafts = [
        make_target(
            campaign_id=campaign["id"],
            document=document,
            invoices=[
                Invoice(invoice_number=f"{document}-{n}", amount=Decimal(amount), due_date=due)
                for n, (amount, due) in enumerate(zip(amounts, dues, strict=True))
            ],
        )
        for document, (amounts, dues) in CASES.items()
    ]
    inserted, _ = targets.insert_new(drafts)
    by_document = {case.document: case for case in inserted}
    for document in ("11144477735", "86288366757"):
        targets.transition(
            by_document[document].id, [TargetState.PENDING], TargetState.COMPLETED, outcome=Outcome.PAID
        )
    return str(campaign["id"])


def _all_pages(api: Api, campaign_id: str, **params: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        response = api.get(
            f"/api/voice/campaigns/{campaign_id}/targets",
            params={**params, **({"cursor": cursor} if cursor else {})},
        )
        assert response.status_code == 200, response.text
        pages.append([case["debtAmount"] for case in response.json()])
        cursor = response.headers.get("X-Next-Cursor")
        if not cursor:
            return pages


def test_cases_sorted_by_amount_come_largest_first_page_by_page(
    api: Api, make_target: Callable[..., Target]
) -> None:
    campaign_id = _seed(api, make_target)

    pages = _all_pages(api, campaign_id, sort="amount", limit=2)
    ascending = _all_pages(api, campaign_id, sort="amount", order="asc", limit=5)

    assert [amount for page in pages for amount in page] == ["1200.00", "320.00", "89.90", "50.00", "5.00"]
    assert [len(page) for page in pages][:3] == [2, 2, 1]
    assert ascending[0] == ["5.00", "50.00", "89.90", "320.00", "1200.00"]


def test_cases_sorted_by_age_come_longest_overdue_first(api: Api, make_target: Callable[..., Target]) -> None:
    campaign_id = _seed(api, make_target)

    [oldest_first] = _all_pages(api, campaign_id, sort="age", limit=10)
    [newest_first] = _all_pages(api, campaign_id, sort="age", order="asc", limit=10)

    # 10/12/2024, 05/01/2025 (the older of two invoices), 20/01, 01/02, 25/02
    assert oldest_first == ["89.90", "320.00", "5.00", "50.00", "1200.00"]
    assert newest_first == list(reversed(oldest_first))


def test_sorting_keeps_the_state_and_outcome_filters(api: Api, make_target: Callable[..., Target]) -> None:
    campaign_id = _seed(api, make_target)

    paid = _all_pages(api, campaign_id, sort="amount", outcome="paid", limit=10)
    pending = _all_pages(api, campaign_id, sort="age", state="pending", limit=10)
    paid_and_pending = _all_pages(api, campaign_id, sort="amount", outcome="paid", state="pending", limit=10)

    assert [amount for page in paid for amount in page] == ["1200.00", "320.00"]
    assert [amount for page in pending for amount in page] == ["89.90", "5.00", "50.00"]
    assert [amount for page in paid_and_pending for amount in page] == []


def test_a_merged_invoice_moves_the_case_in_both_orders(api: Api, make_target: Callable[..., Target]) -> None:
    campaign_id = _seed(api, make_target)
    api.import_csv(
        campaign_id,
        "nome;telefone;cpf;valor;fatura;vencimento\n"
        "Maria Silva;(11) 99999-8888;714.287.938-60;R$ 2.000,00;NOVA-1;01/11/2024\n",
    )

    [by_amount] = _all_pages(api, campaign_id, sort="amount", limit=10)
    [by_age] = _all_pages(api, campaign_id, sort="age", limit=10)

    assert by_amount[0] == "2005.00" and by_age[0] == "2005.00"


def test_a_bad_sort_or_a_cursor_of_another_listing_is_refused(
    api: Api, make_target: Callable[..., Target]
) -> None:
    campaign_id = _seed(api, make_target)
    first = api.get(f"/api/voice/campaigns/{campaign_id}/targets", params={"sort": "amount", "limit": 2})

    other = api.get(
        f"/api/voice/campaigns/{campaign_id}/targets",
        params={"sort": "age", "limit": 2, "cursor": first.headers["X-Next-Cursor"]},
    )

    assert api.get(f"/api/voice/campaigns/{campaign_id}/targets", params={"sort": "name"}).status_code == 422
    assert api.get(f"/api/voice/campaigns/{campaign_id}/targets", params={"order": "up"}).status_code == 422
    assert other.status_code == 422 and other.json()["code"] == "invalid_cursor"
