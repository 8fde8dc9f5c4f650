"""`cobranca demo` (what `make demo` runs): every persona ends where it should, and the demo says so
with its exit code — on the generic CRM and on each ERP simulator (`make demo BILLING_SYSTEM=ixc`, `sgp`,
`hubsoft`), on WhatsApp's Cloud API (`EVOLUTION_INTEGRATION=cloud`) and through a WhatsApp outage
(`--whatsapp-outage 1`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from infra.local.customers import BY_PHONE, Persona, SimulatedCustomer
from infra.local.demo import DESK_REPLY, EXPECTED, MAX_CONTACTS, money_line, verify
from infra.local.simulators.crm import SimInvoice
from shared.engine import warm_transfer
from tests.e2e.conftest import run_cobranca

# The persona mix is deterministic: customers of one persona play the same script. The generic CRM
# plays three of each, so many customers' contacts interleave on the queues and the cadence; an ERP
# simulator plays one of each, which is what it adds (syncing, invoices, unlocking through that ERP).
CUSTOMERS = {"generic": 3 * len(Persona), "ixc": len(Persona), "sgp": len(Persona), "hubsoft": len(Persona)}
# Long enough for a broken promise (promised for day 5, broken 7 days after it) to be followed up until
# the campaign's contacts are spent.
DAYS = 24


@dataclass(frozen=True)
class Variation:
    """How a run departs from the default demo (Baileys, WhatsApp up all month): its extra options and
    environment, and what its output must show beyond every persona's ending."""

    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    shows: Callable[[str], None] = lambda out: None


def _strangers_got_templates(out: str) -> None:
    counts = re.findall(r"WhatsApp\s+(\d+) \(templates (\d+)\)", out)
    assert counts, out[-2000:]
    sent, templates = map(int, counts[-1])
    assert 0 < templates < sent  # strangers get templates; replies inside the window are free text


def _the_outage_held_whatsapp_and_called_instead(out: str) -> None:
    """Day 1, 09:00–15:00: the morning's unanswered first contacts come due for their retry at 10:00,
    inside the pause. They are held (no attempt burned, no WhatsApp message sent) and called instead;
    the breaker closes at the reconnect and WhatsApp sends resume. (Every persona's exact count of
    messages and calls still holds — the test's common assertions: nobody got one step twice.)"""
    assert "Tue 11/03 09:00: the WhatsApp instance disconnects" in out
    assert "Tue 11/03 15:00: the WhatsApp instance reconnects" in out
    opened = re.search(r"breaker opened (\w{3} \d\d/\d\d \d\d:\d\d) \((\w+): (.+)\)\n", out)
    assert opened is not None, out[-4000:]
    assert opened.group(1) == "Tue 11/03 09:00"
    assert opened.group(2) in ("disconnected", "send_disconnected") and "pausados" in opened.group(3)
    paused = re.search(
        r"while paused: (\d+) cases due on WhatsApp held pending \((\d+) attempts burned, (\d+) WhatsApp "
        r"messages sent\); (\d+) of them called instead \(calls placed while paused: (\d+)\)",
        out,
    )
    assert paused is not None, out[-4000:]
    held, burned, sent, called, calls = map(int, paused.groups())
    assert held >= called > 0 and calls >= called
    assert burned == 0 and sent == 0
    closed = re.search(
        r"breaker closed (.+?) \(instance open, probe passed\); WhatsApp sends resumed (.+?): (\d+)", out
    )
    assert closed is not None, out[-4000:]
    assert closed.group(1) == "Tue 11/03 15:00" and closed.group(2) != "never" and int(closed.group(3)) > 0


DEFAULT = Variation()
CLOUD_API = Variation(env={"EVOLUTION_INTEGRATION": "cloud"}, shows=_strangers_got_templates)
WHATSAPP_OUTAGE = Variation(
    args=("--whatsapp-outage", "1"), shows=_the_outage_held_whatsapp_and_called_instead
)


# A run is a whole sandbox playing 24 virtual days (~25 s of the suite's two cores). The Cloud API and
# the outage are about WhatsApp, the ERPs about the billing system: each ERP run that plays one of
# them proves both (every assertion of either) for the price of one run. The generic CRM and IXC play
# the default demo.
@pytest.mark.parametrize(
    ("billing_system", "unlocks", "variation"),
    [
        pytest.param("generic", "unsupported", DEFAULT, id="generic"),
        pytest.param("ixc", "unlocked", DEFAULT, id="ixc"),
        pytest.param("sgp", "unlocked", WHATSAPP_OUTAGE, id="sgp-whatsapp-outage"),
        pytest.param("hubsoft", "unlocked", CLOUD_API, id="hubsoft-cloud-api"),
    ],
)
def test_demo_plays_every_persona_to_its_expected_ending(
    tmp_path: Path, billing_system: str, unlocks: str, variation: Variation
) -> None:
    customers = CUSTOMERS[billing_system]
    result = run_cobranca(
        "demo",
        "--customers",
        str(customers),
        "--days",
        str(DAYS),
        *variation.args,
        "--log-file",
        str(tmp_path / "demo.log"),
        timeout=600,
        BILLING_SYSTEM=billing_system,
        **variation.env,
    )

    out = result.stdout
    assert result.returncode == 0, out[-4000:] + result.stderr[-4000:]
    assert f"{customers}/{customers} customers ended as their persona expects" in out
    counts = {}
    for persona in Persona:
        line = re.search(rf"(.) {persona.value}\s+(\d+)/(\d+)", out)
        assert line is not None and line.group(1) == "✓" and line.group(2) == line.group(3), persona
        counts[persona] = int(line.group(3))
        # The persona table says which personas settle on a call.
        phone = re.search(rf"{persona.value}\s+\d+/\d+\s+📞", out) is not None
        assert phone is (persona in BY_PHONE), persona
    assert sum(counts.values()) == customers
    funnel = re.search(r"targets (\d+)\s+reached (\d+)\s+responded (\d+)\s+promised (\d+)\s+paid (\d+)", out)
    assert funnel is not None
    targets, reached, responded, promised, paid = map(int, funnel.groups())
    assert targets == customers  # one case per customer, however many invoices they owe
    assert targets > reached > responded > promised > 0 and paid > 0
    lifecycle = re.search(r"made (\d+)\s+pending (\d+)\s+fulfilled (\d+)\s+broken (\d+)", out)
    assert lifecycle is not None
    keeps = (
        counts[Persona.PROMISES_AND_PAYS]
        + counts[Persona.SEVERAL_INVOICES]
        + counts[Persona.FOLLOWED_UP_PROMISES]
        + counts[Persona.KEEPS_PARTIAL_PROMISE]
        + counts[Persona.NOT_ON_WHATSAPP]  # promises on the call
    )
    breaks = counts[Persona.PROMISES_AND_BREAKS]
    assert tuple(map(int, lifecycle.groups())) == (keeps + breaks, 0, keeps, breaks)
    # The campaign offers a trust unlock: each ERP restores every promiser's blocked contract; the
    # generic CRM cannot, and says so on each promise.
    assert f"billing system: {billing_system}, simulated at http://127.0.0.1:" in out
    assert f"trust unlock  {unlocks} {keeps + breaks}\n" in out
    for kpi in ("contactRate", "responseRate", "promiseRate", "fulfilmentRate", "conversionRate"):
        assert kpi in out
    campaign, overall = _printed_money(out, "campaign"), _printed_money(out, "overall")
    assert campaign == overall  # the demo's sandbox holds one campaign: its figures are the totals
    in_collection, promised, kept, recovered, self_cured, rate = campaign
    assert in_collection > 0 and promised >= kept > 0 and recovered > 0
    assert recovered + self_cured <= in_collection
    assert (self_cured > 0) == (int(_paid_before_contact(out)) > 0)
    assert rate == (recovered * 100 / in_collection).quantize(Decimal("0.1"), ROUND_HALF_UP)
    variation.shows(out)


_BRL = r"R\$ ([\d.]+,\d{2})"


def _brl(text: str) -> Decimal:
    return Decimal(text.replace(".", "").replace(",", "."))


def _printed_money(out: str, scope: str) -> tuple[Decimal, ...]:
    """The money line the demo printed for `scope`, as (in collection, promised, kept, recovered,
    self-cured, recovery rate)."""
    line = re.search(
        rf"{scope}\s+em cobrança {_BRL}\s+prometido {_BRL}\s+cumprido {_BRL}\s+recuperado {_BRL}"
        rf"\s+autorregularizado {_BRL}\s+taxa de recuperação (\d+,\d)%",
        out,
    )
    assert line is not None, out[-3000:]
    return tuple(_brl(group) for group in line.groups())


def _paid_before_contact(out: str) -> str:
    found = re.search(r"paid \d+ \(before any contact: (\d+)\)", out)
    assert found is not None
    return found.group(1)


def test_money_line_formats_reais_as_the_dashboard_does() -> None:
    kpis = {
        "amountInCollection": "12345.6",
        "amountPromised": "1000.00",
        "amountKept": "899.9",
        "amountRecovered": "1234.56",
        "amountSelfCured": "0",
        "recoveryRate": "10.0",
    }

    assert money_line(kpis) == (
        "em cobrança R$ 12.345,60   prometido R$ 1.000,00   cumprido R$ 899,90   recuperado R$ 1.234,56"
        "   autorregularizado R$ 0,00   taxa de recuperação 10,0%"
    )


def _customer(persona: Persona, invoices: int = 1) -> SimulatedCustomer:
    return SimulatedCustomer(
        name="Ana Lima",
        phone="5511970000001",
        document="52998224725",
        persona=persona,
        invoices=[SimInvoice(f"F-{n}", Decimal("89.90"), date(2025, 2, 1)) for n in range(invoices)],
    )


def _case(state: str, outcome: str | None, *numbers: str, contacts: int = 1) -> dict[str, object]:
    invoices = [{"invoiceNumber": number} for number in numbers or ("F-0",)]
    return {"id": "T1", "invoices": invoices, "state": state, "outcome": outcome, "contactCount": contacts}


def _sims(texts: int = 0, calls: int = 0, desk: bool = False) -> SimpleNamespace:
    sent = ["x"] * (texts - desk) + [DESK_REPLY] * desk
    evolution = SimpleNamespace(texts_to=lambda phone: sent, templates_to=lambda phone: [])
    twilio = SimpleNamespace(calls_to=lambda phone: [object()] * calls)
    return SimpleNamespace(simulators=SimpleNamespace(evolution=evolution, twilio=twilio))


def test_a_persona_that_ends_elsewhere_fails_the_demo() -> None:
    customer = _customer(Persona.OPTS_OUT)
    targets = [_case("contacted", None)]

    [verdict] = verify([customer], targets, [], _sims(texts=2))  # type: ignore[arg-type]

    assert not verdict.ok
    assert "contacted/None" in verdict.got
    assert verdict.expected == EXPECTED[Persona.OPTS_OUT].text


def test_a_persona_contacted_too_often_fails_the_demo() -> None:
    customer = _customer(Persona.OPTS_OUT)
    targets = [_case("completed", "opted_out")]

    ok = verify([customer], targets, [], _sims(texts=2))  # type: ignore[arg-type]
    again = verify([customer], targets, [], _sims(texts=3))  # type: ignore[arg-type]

    assert ok[0].ok
    assert not again[0].ok and "3 WhatsApp messages" in again[0].got


def test_a_promise_persona_needs_its_promise_in_the_right_status() -> None:
    customer = _customer(Persona.PROMISES_AND_PAYS)
    targets = [_case("completed", "paid")]
    broken = [{"targetId": "T1", "status": "broken", "createdAt": "2025-03-10T12:00:00Z"}]
    fulfilled = [{"targetId": "T1", "status": "fulfilled", "createdAt": "2025-03-10T12:00:00Z"}]

    assert not verify([customer], targets, broken, _sims())[0].ok  # type: ignore[arg-type]
    assert verify([customer], targets, fulfilled, _sims())[0].ok  # type: ignore[arg-type]


def test_a_customer_with_several_invoices_must_be_one_case_contacted_once() -> None:
    customer = _customer(Persona.SEVERAL_INVOICES, invoices=3)
    fulfilled = [{"targetId": "T1", "status": "fulfilled", "createdAt": "2025-03-10T12:00:00Z"}]
    one_case = [_case("completed", "paid", "F-0", "F-1", "F-2")]
    split = [_case("completed", "paid", "F-0", "F-1"), {**_case("completed", "paid", "F-2"), "id": "T2"}]
    contacted_twice = [_case("completed", "paid", "F-0", "F-1", "F-2", contacts=2)]

    assert verify([customer], one_case, fulfilled, _sims())[0].ok  # type: ignore[arg-type]
    assert verify([customer], split, fulfilled, _sims())[0].got == "2 cases"  # type: ignore[arg-type]
    [twice] = verify([customer], contacted_twice, fulfilled, _sims())  # type: ignore[arg-type]
    assert not twice.ok and "contactCount 2" in twice.got


def test_the_hardship_persona_must_be_answered_from_the_desk_and_no_one_else() -> None:
    customer = _customer(Persona.HARDSHIP)
    targets = [_case("completed", "exhausted", contacts=MAX_CONTACTS)]  # the cadence went on after the desk

    [answered] = verify([customer], targets, [], _sims(texts=3, desk=True))  # type: ignore[arg-type]
    [left_waiting] = verify([customer], targets, [], _sims(texts=3))  # type: ignore[arg-type]
    [intruded] = verify(  # type: ignore[arg-type]
        [_customer(Persona.OPTS_OUT)],
        [_case("completed", "opted_out")],
        [],
        _sims(texts=2, desk=True),
    )

    assert answered.ok
    assert not left_waiting.ok and "not answered from the desk" in left_waiting.got
    assert not intruded.ok and intruded.got == "answered from the desk"


def test_on_the_cloud_api_a_customer_handed_over_on_a_call_waits_at_the_desk() -> None:
    """Never having written on WhatsApp, the customer has no 24 h window: Lia asks them to write first,
    and the desk cannot reply until they do."""
    customer = _customer(Persona.IGNORES_WHATSAPP)
    customer.transcript.append(("lia", f"{warm_transfer.WRITE_FIRST} Obrigada e até logo."))
    targets = [_case("contacted", "transferred", contacts=4)]

    [waiting] = verify([customer], targets, [], _sims(texts=3, calls=1), cloud=True)  # type: ignore[arg-type]
    [answered] = verify([customer], targets, [], _sims(texts=4, calls=1, desk=True), cloud=True)  # type: ignore[arg-type]
    [on_baileys] = verify([customer], targets, [], _sims(texts=3, calls=1))  # type: ignore[arg-type]
    customer.transcript[-1] = ("lia", warm_transfer.CALLBACK)
    [false_promise] = verify([customer], targets, [], _sims(texts=3, calls=1), cloud=True)  # type: ignore[arg-type]

    assert waiting.ok and "no 24 h window" in waiting.expected
    assert not answered.ok and answered.got == "answered from the desk"
    assert not on_baileys.ok and "not answered from the desk" in on_baileys.got
    assert "Lia never said" in on_baileys.got  # on baileys the desk writes: no need to ask
    assert not false_promise.ok and false_promise.got.startswith("Lia never said")


def test_a_customer_who_never_resolves_must_spend_the_whole_budget() -> None:
    customer = _customer(Persona.NEVER_RESOLVES)
    spent = [_case("completed", "exhausted", contacts=MAX_CONTACTS)]
    short = [_case("completed", "exhausted", contacts=MAX_CONTACTS - 1)]
    pending = [_case("pending", "answered", contacts=2)]

    assert verify([customer], spent, [], _sims(texts=MAX_CONTACTS * 2))[0].ok  # type: ignore[arg-type]
    assert not verify([customer], short, [], _sims())[0].ok  # type: ignore[arg-type]
    assert "pending/answered" in verify([customer], pending, [], _sims())[0].got  # type: ignore[arg-type]


def test_a_kept_partial_promise_ends_fulfilled_while_the_case_goes_on_to_its_end() -> None:
    customer = _customer(Persona.KEEPS_PARTIAL_PROMISE, invoices=2)
    fulfilled = [{"targetId": "T1", "status": "fulfilled", "createdAt": "2025-03-10T12:00:00Z"}]
    spent = [_case("completed", "exhausted", "F-0", "F-1", contacts=MAX_CONTACTS)]
    closed_as_paid = [_case("completed", "paid", "F-0", "F-1", contacts=MAX_CONTACTS)]
    broken = [{**fulfilled[0], "status": "broken"}]

    assert verify([customer], spent, fulfilled, _sims())[0].ok  # type: ignore[arg-type]
    assert "completed/paid" in verify([customer], closed_as_paid, fulfilled, _sims())[0].got  # type: ignore[arg-type]
    assert "promise ['broken']" in verify([customer], spent, broken, _sims())[0].got  # type: ignore[arg-type]
