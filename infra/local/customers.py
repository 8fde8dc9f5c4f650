"""Simulated customers: people behind the simulators, each with a persona that decides how they answer
Lia on WhatsApp, whether they pick up the phone, and when they pay (in the simulated CRM, and in the
simulated ERP too when BILLING_SYSTEM names one).

They read what the Evolution simulator accepts and the calls the Twilio simulator places (its hooks),
and answer through the real wire formats: Evolution's `messages.upsert` / `messages.update` webhooks
and Twilio's signed status callbacks, posted to the API. The personas that settle by phone
(`BY_PHONE`) talk on the call itself: the Twilio simulator streams it to the voice bridge, where the
Realtime simulator answers as Lia (`phone_lines` is what they say, one line per thing Lia says). Like real people they take a moment: a
customer acts only when the runtime is quiet (`ready`), so a reply never overtakes the message it
answers. Payments happen on the virtual clock (a clock jump past a customer's payment day pays).

The personas of `cobranca demo` and what each must end as (`Persona.expected`) are defined here.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

from infra.local.simulators.crm import SimInvoice
from infra.local.simulators.evolution import SentText
from infra.local.simulators.twilio import SimCall
from shared.core import clock
from shared.domain.documents import normalize_document
from shared.domain.phones import normalize_phone

if TYPE_CHECKING:
    from infra.local.sandbox import Simulators

ZONE: Final = ZoneInfo("America/Sao_Paulo")
INVOICE_AMOUNT: Final = Decimal("89.90")
PROMISE_IN_DAYS: Final = 5  # "dia X": five days after the conversation
PAYS_BEFORE_DUE_DAYS: Final = 2
CLAIM_CLEARS_AFTER: Final = timedelta(days=1)  # the CRM shows a claimed payment a day later
# Who never picks up pays at the bank this long after the last call: after their case ended, in time for
# its late payment check (LATE_PAYMENT_CHECK_DAYS after it ended).
PAYS_AFTER_LAST_CALL: Final = timedelta(days=4)
STALLING: Final = "Vou ver e depois te falo."
# Every outreach message (first contact, follow-up, after a broken promise, last notice) says how to
# stop the messages; the assistant's replies in the conversation do not.
OUTREACH_MARK: Final = "responder PARAR"
FIRST_NAMES: Final = (
    "Ana", "Bruno", "Carla", "Daniel", "Eduarda", "Felipe", "Gabriela", "Henrique", "Isabela", "João",
    "Karina", "Lucas", "Mariana", "Nicolas", "Olívia", "Paulo", "Queila", "Rafael", "Sabrina", "Tiago",
    "Úrsula", "Vinícius", "Wesley", "Yasmin", "Zeca",
)  # fmt: skip
LAST_NAMES: Final = (
    "Silva", "Souza", "Oliveira", "Santos", "Pereira", "Lima", "Carvalho", "Ferreira", "Rodrigues",
    "Almeida", "Costa", "Gomes", "Martins", "Araújo", "Ribeiro",
)  # fmt: skip


class Persona(StrEnum):
    PAYS_AFTER_MESSAGE = "pays_after_message"
    PROMISES_AND_PAYS = "promises_and_pays"
    SEVERAL_INVOICES = "several_invoices"
    PROMISES_AND_BREAKS = "promises_and_breaks"
    ALREADY_PAID = "already_paid"
    CLAIMS_PAYMENT = "claims_payment"
    OPTS_OUT = "opts_out"
    NOT_ON_WHATSAPP = "not_on_whatsapp"
    IGNORES_WHATSAPP = "ignores_whatsapp"
    NEVER_ANSWERS = "never_answers"
    HARDSHIP = "hardship"
    FOLLOWED_UP_PROMISES = "followed_up_promises"
    NEVER_RESOLVES = "never_resolves"
    KEEPS_PARTIAL_PROMISE = "keeps_partial_promise"
    STOPS_CALLS = "stops_calls"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS: Final = {
    Persona.PAYS_AFTER_MESSAGE: "owes two invoices, pays after the first message",
    Persona.PROMISES_AND_PAYS: "confirms the CPF, promises 'dia X', pays before it",
    Persona.SEVERAL_INVOICES: "owes three invoices, one conversation: confirms the CPF, promises, pays",
    Persona.PROMISES_AND_BREAKS: "confirms the CPF, promises 'dia X', never pays",
    Persona.ALREADY_PAID: "nothing open in the CRM before the first contact",
    Persona.CLAIMS_PAYMENT: "'já paguei' — the CRM shows it a day later",
    Persona.OPTS_OUT: "answers PARAR",
    Persona.NOT_ON_WHATSAPP: "no WhatsApp: called instead, gives the CPF and promises on the phone, pays",
    Persona.IGNORES_WHATSAPP: "reads the messages, never replies; called, asks for an atendente",
    Persona.NEVER_ANSWERS: "no WhatsApp, never picks up the phone; pays at the bank days after the last call",
    Persona.HARDSHIP: "'estou desempregado, preciso falar com alguém'",
    Persona.FOLLOWED_UP_PROMISES: "'vou ver' to the first message; on the follow-up confirms the CPF, promises, pays",
    Persona.NEVER_RESOLVES: "'vou ver' to every message Lia sends, never more",
    Persona.KEEPS_PARTIAL_PROMISE: "owes two invoices, promises to pay one of them, pays it; never the other",
    Persona.STOPS_CALLS: "no WhatsApp: called, asks not to be called again",
}

# The personas that settle on a call (what they say there: `Customers.phone_lines`).
BY_PHONE: Final = frozenset({Persona.NOT_ON_WHATSAPP, Persona.IGNORES_WHATSAPP, Persona.STOPS_CALLS})

# How many of every 200 customers have each persona (scaled to the demo's size).
MIX: Final = {
    Persona.PAYS_AFTER_MESSAGE: 22,
    Persona.PROMISES_AND_PAYS: 14,
    Persona.SEVERAL_INVOICES: 12,
    Persona.PROMISES_AND_BREAKS: 22,
    Persona.ALREADY_PAID: 18,
    Persona.CLAIMS_PAYMENT: 22,
    Persona.OPTS_OUT: 16,
    Persona.NOT_ON_WHATSAPP: 16,
    Persona.IGNORES_WHATSAPP: 16,
    Persona.NEVER_ANSWERS: 20,
    Persona.HARDSHIP: 22,
    Persona.FOLLOWED_UP_PROMISES: 14,
    Persona.NEVER_RESOLVES: 12,
    Persona.KEEPS_PARTIAL_PROMISE: 12,
    Persona.STOPS_CALLS: 12,
}

# Invoices (spreadsheet rows) a persona owes, when more than one: each customer is one case anyway.
INVOICES: Final = {
    Persona.PAYS_AFTER_MESSAGE: 2,
    Persona.SEVERAL_INVOICES: 3,
    Persona.KEEPS_PARTIAL_PROMISE: 2,
}


@dataclass
class SimulatedCustomer:
    name: str
    phone: str  # E.164 digits
    document: str  # normalized CPF
    persona: Persona | None  # None: added by hand (`POST /api/dev/customers`), chatted with by a person
    invoices: list[SimInvoice]
    stage: int = 0  # messages from Lia answered so far
    pay_at: datetime | None = None
    paid: bool = False
    pays_part: bool = False  # at `pay_at`, only the oldest invoice is paid (a partial promise kept)
    promised_day: date | None = None
    whatsapp_received: int = 0
    outreach_received: int = 0  # of those, the campaign's outreach messages (not the assistant's replies)
    calls: int = 0
    transcript: list[tuple[str, str]] = field(default_factory=list)

    @property
    def open_total(self) -> Decimal:
        return Decimal("0.00") if self.paid else sum((i.amount for i in self.invoices), Decimal("0.00"))

    @property
    def formatted_document(self) -> str:
        d = self.document
        return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"


class Customers:
    """Every simulated customer of one sandbox, and the thread through which they act."""

    def __init__(self, simulators: Simulators, *, ready: Callable[[], bool] | None = None) -> None:
        self._sims = simulators
        self._ready = ready or (lambda: True)
        self._by_phone: dict[str, SimulatedCustomer] = {}
        self._events: deque[tuple[str, Any]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._acting = False
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []
        if simulators.evolution is not None:
            simulators.evolution.on_send = lambda sent: self._push("whatsapp", sent)
        if simulators.twilio is not None:
            simulators.twilio.on_call = lambda call: self._push("call", call)

    # --- who they are --------------------------------------------------------------------------

    def populate(self, count: int, *, today: date, seed_offset: int = 0) -> list[SimulatedCustomer]:
        """`count` customers with the demo's persona mix (deterministic), registered with the
        simulated CRM and Evolution API."""
        made = []
        for index, persona in enumerate(persona_mix(count)):
            number = seed_offset + index + 1
            made.append(self._create(number, persona, today))
        return made

    def add_manual(self, name: str, phone: str, document: str, debt: Decimal) -> SimulatedCustomer:
        """A customer without a persona (a person chats as them through the dev routes)."""
        today = clock.now().astimezone(ZONE).date()
        invoice = SimInvoice(f"MAN-{normalize_document(document)[-4:]}", debt, today - timedelta(days=20), 20)
        return self._register(
            SimulatedCustomer(name, normalize_phone(phone), normalize_document(document), None, [invoice])
        )

    def listing(self) -> list[SimulatedCustomer]:
        with self._lock:
            return list(self._by_phone.values())

    def by_phone(self, phone: str) -> SimulatedCustomer | None:
        with self._lock:
            return self._by_phone.get(phone)

    def pays(self, document: str) -> SimulatedCustomer | None:
        """The customer with `document` pays everything open now, as at the bank: the simulated CRM (and
        ERP) show it, nobody is told. None when no simulated customer has that document."""
        document = normalize_document(document)
        found = next((c for c in self.listing() if c.document == document), None)
        if found is not None:
            self._pay(found)
        return found

    def _create(self, number: int, persona: Persona, today: date) -> SimulatedCustomer:
        name = f"{FIRST_NAMES[number % len(FIRST_NAMES)]} {LAST_NAMES[(number // 7) % len(LAST_NAMES)]}"
        phone = f"55119{70000000 + number:08d}"
        count = INVOICES.get(persona, 1)
        # A month apart, the newest 10 days overdue (40 days when it is the only one).
        overdue = [40] if count == 1 else [10 + 30 * (count - 1 - k) for k in range(count)]
        invoices = [
            SimInvoice(f"DEMO-{number:04d}-{k + 1}", INVOICE_AMOUNT, today - timedelta(days=days), days)
            for k, days in enumerate(overdue)
        ]
        customer = SimulatedCustomer(name, phone, make_cpf(number * 7919 + 101), persona, invoices)
        if persona is Persona.ALREADY_PAID:
            customer.paid = True  # paid before the campaign starts: the CRM shows nothing open
        return self._register(customer)

    def _register(self, customer: SimulatedCustomer) -> SimulatedCustomer:
        crm, erp, evolution = self._sims.crm, self._sims.erp, self._sims.evolution
        invoices = [] if customer.paid else list(customer.invoices)
        if erp is not None:
            erp.add_debtor(customer.document, customer.name, invoices, phones=(customer.phone,))
            # The spreadsheet carries the ERP's own invoice numbers, as an export from it would: a
            # case's invoices are then the ones the ERP answers about.
            numbers = erp.invoice_numbers(customer.document)
            invoices = [replace(invoice, number=n) for invoice, n in zip(invoices, numbers, strict=True)]
            if not customer.paid:
                customer.invoices = invoices
        if crm is not None:
            crm.add_customer(customer.document, customer.name, invoices)
        if evolution is not None and customer.persona in (
            Persona.NOT_ON_WHATSAPP,
            Persona.NEVER_ANSWERS,
            Persona.STOPS_CALLS,
        ):
            evolution.not_on_whatsapp.add(customer.phone)
        with self._lock:
            self._by_phone[customer.phone] = customer
        return customer

    # --- acting ----------------------------------------------------------------------------------

    def start(self, ready: Callable[[], bool] | None = None) -> Customers:
        """Start acting (replies, calls, payments) whenever `ready()` says the system is quiet."""
        if ready is not None:
            self._ready = ready
        self._thread = threading.Thread(target=self._run, daemon=True, name="customers")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def idle(self) -> bool:
        """Nobody has anything left to say or pay right now."""
        with self._lock:
            return not self._events and not self._acting and not self._payments_due(clock.now())

    def _push(self, kind: str, item: Any) -> None:
        with self._lock:
            self._events.append((kind, item))
        self._wake.set()

    def wake(self, *_: object) -> None:
        """Look now (the clock jumped: a payment may be due)."""
        self._wake.set()

    def _run(self) -> None:
        waiting = False
        while not self._stop.is_set():
            # Waiting for the system to be quiet: look often; otherwise sleep until woken.
            self._wake.wait(0.005 if waiting else 0.5)
            self._wake.clear()
            with self._lock:
                pending = bool(self._events) or bool(self._payments_due(clock.now()))
            waiting = pending and not self._ready()
            if not pending or waiting:
                continue
            with self._lock:
                self._acting = True
                batch = list(self._events)
                self._events.clear()
            try:
                self._pay_due()
                for kind, item in batch:
                    self._act(kind, item)
            finally:
                with self._lock:
                    self._acting = False
            self._wake.set()  # look again: acting made more work

    def _act(self, kind: str, item: Any) -> None:
        try:
            if kind == "whatsapp":
                self._read(item)
            else:
                self._answer_phone(item)
        except Exception as exc:  # one customer's failure is recorded, never stops the others
            self.errors.append(f"{kind}: {type(exc).__name__}: {exc}")

    def _payments_due(self, now: datetime) -> list[SimulatedCustomer]:
        return [c for c in self._by_phone.values() if c.pay_at is not None and not c.paid and c.pay_at <= now]

    def _pay_due(self) -> None:
        with self._lock:
            due = self._payments_due(clock.now())
        for customer in due:
            if customer.pays_part:
                self._pay_oldest(customer)
            else:
                self._pay(customer)

    def _pay(self, customer: SimulatedCustomer) -> None:
        if not customer.paid:
            for billing in (self._sims.crm, self._sims.erp):
                if billing is not None:
                    billing.pay_all(customer.document)
        customer.paid = True
        customer.transcript.append(("crm", "paid"))

    def _pay_oldest(self, customer: SimulatedCustomer) -> None:
        """The oldest open invoice is paid; the others stay open (and nothing more is paid)."""
        for billing in (self._sims.crm, self._sims.erp):
            if billing is not None:
                billing.pay_oldest(customer.document)
        customer.pay_at = None
        customer.transcript.append(("crm", "paid the oldest invoice"))

    def _read(self, sent: SentText) -> None:
        customer = self.by_phone(sent.number)
        evolution = self._sims.evolution
        assert evolution is not None
        if customer is None:
            return  # a number nobody simulates
        customer.whatsapp_received += 1
        customer.outreach_received += OUTREACH_MARK in sent.text
        customer.transcript.append(("lia", sent.text))
        if customer.persona is None:
            return  # a person answers (dev routes)
        reply = self._reply(customer, outreach=OUTREACH_MARK in sent.text)
        customer.stage += 1
        if reply is None:
            evolution.receipt(sent, "DELIVERY_ACK")  # delivered, not answered (else: `not_delivered`)
            return
        evolution.receipt(sent, "READ")
        customer.transcript.append(("customer", reply))
        evolution.customer_says(customer.phone, reply, push_name=customer.name.split()[0])

    def _reply(self, customer: SimulatedCustomer, *, outreach: bool) -> str | None:
        persona, stage = customer.persona, customer.stage
        today = clock.now().astimezone(ZONE).date()
        if persona is Persona.NEVER_RESOLVES:
            return STALLING if outreach else None
        if persona is Persona.FOLLOWED_UP_PROMISES:
            if outreach:
                first = customer.outreach_received == 1
                return STALLING if first else f"Oi, sou eu sim. Meu CPF é {customer.formatted_document}."
            if customer.outreach_received >= 2 and customer.promised_day is None:
                return self._promise(customer, today, pays=True)
            return None
        if persona is Persona.KEEPS_PARTIAL_PROMISE:
            if stage == 0:
                return f"Oi, sou eu sim. Meu CPF é {customer.formatted_document}."
            if stage == 1:
                part = f"{customer.invoices[0].amount:.2f}".replace(".", ",")
                said = self._promise(customer, today, pays=True).removesuffix(".")
                customer.pays_part = True
                return f"{said}, só R$ {part} de uma fatura. A outra fica para depois."
            return None
        if persona is Persona.PAYS_AFTER_MESSAGE:
            if stage == 0:
                self._pay(customer)
            return None
        if persona in (Persona.PROMISES_AND_PAYS, Persona.SEVERAL_INVOICES, Persona.PROMISES_AND_BREAKS):
            if stage == 0:
                return f"Oi, sou eu sim. Meu CPF é {customer.formatted_document}."
            if stage == 1:
                return self._promise(customer, today, pays=persona is not Persona.PROMISES_AND_BREAKS)
            return None
        if persona is Persona.CLAIMS_PAYMENT and stage == 0:
            customer.pay_at = clock.now() + CLAIM_CLEARS_AFTER
            return f"Já paguei essa conta semana passada! Meu CPF é {customer.formatted_document}."
        if persona is Persona.OPTS_OUT and stage == 0:
            return "PARAR"
        if persona is Persona.HARDSHIP and stage == 0:
            return "Oi, sou eu. Estou desempregado, preciso falar com alguém."
        return None

    def _promise(self, customer: SimulatedCustomer, today: date, *, pays: bool) -> str:
        """'Consigo pagar no dia X' — and, when `pays`, the payment two days before X."""
        customer.promised_day = today + timedelta(days=PROMISE_IN_DAYS)
        if pays:
            pay_day = customer.promised_day - timedelta(days=PAYS_BEFORE_DUE_DAYS)
            customer.pay_at = datetime.combine(pay_day, datetime.min.time(), tzinfo=ZONE) + timedelta(
                hours=10
            )
        return f"Consigo pagar no dia {customer.promised_day:%d/%m}."

    def _answer_phone(self, call: SimCall) -> None:
        twilio = self._sims.twilio
        assert twilio is not None
        customer = self.by_phone(call.to.lstrip("+"))
        if customer is None:
            twilio.play(call, "no-answer")
            return
        customer.calls += 1
        if customer.persona is Persona.NEVER_ANSWERS:
            customer.pay_at = clock.now() + PAYS_AFTER_LAST_CALL
        ending = "no-answer" if customer.persona is Persona.NEVER_ANSWERS else "answered"
        customer.transcript.append(("call", ending))
        lines = self.phone_lines(customer)
        twilio.play(call, ending, caller=None if lines is None else self._on_the_phone(customer, lines))

    def phone_lines(self, customer: SimulatedCustomer) -> list[Callable[[], str]] | None:
        """What a persona that settles by phone says on the call, one line each time Lia has spoken
        (then hangs up); None for the others (they pick up and say nothing)."""
        today = clock.now().astimezone(ZONE).date()
        identify = f"Alô, sou eu sim. Meu CPF é {customer.formatted_document}."
        if customer.persona is Persona.NOT_ON_WHATSAPP:
            return [lambda: identify, lambda: self._promise(customer, today, pays=True)]
        if customer.persona is Persona.IGNORES_WHATSAPP:
            return [lambda: "Alô. Quero falar com um atendente, por favor."]
        if customer.persona is Persona.STOPS_CALLS:
            return [lambda: "Alô. Não quero mais receber ligações de cobrança."]
        return None

    @staticmethod
    def _on_the_phone(
        customer: SimulatedCustomer, lines: list[Callable[[], str]]
    ) -> Callable[[str], str | None]:
        """The caller on the media stream: hears Lia, says the next line, hangs up after the last."""
        left = deque(lines)

        def answer(heard: str) -> str | None:
            customer.transcript.append(("lia", heard))
            if not left:
                return None
            said = left.popleft()()
            customer.transcript.append(("customer", said))
            return said

        return answer


def persona_mix(count: int) -> list[Persona]:
    """`count` personas in the demo's proportions, every persona at least once, interleaved so any
    prefix of the list is a fair sample."""
    if count < len(Persona):
        raise ValueError(f"the demo needs at least {len(Persona)} customers, one per persona")
    total = sum(MIX.values())
    quotas = {p: max(1, round(count * w / total)) for p, w in MIX.items()}
    while sum(quotas.values()) > count:
        largest = max(quotas, key=lambda p: quotas[p])
        quotas[largest] -= 1
    while sum(quotas.values()) < count:
        quotas[Persona.PROMISES_AND_PAYS] += 1
    order: list[Persona] = []
    left = dict(quotas)
    while any(left.values()):
        for persona in Persona:
            if left[persona]:
                order.append(persona)
                left[persona] -= 1
    return order


def make_cpf(seed: int) -> str:
    """A valid CPF derived from `seed` (check digits as the Receita Federal computes them)."""
    base = [int(d) for d in f"{seed % 10**9:09d}"]
    if len(set(base)) == 1:
        base[-1] = (base[-1] + 1) % 10
    for start in (10, 11):
        total = sum(d * w for d, w in zip(base, range(start, 1, -1), strict=False))
        base.append(0 if total % 11 < 2 else 11 - total % 11)
    return "".join(map(str, base))


def spreadsheet_rows(customers: Sequence[SimulatedCustomer]) -> list[dict[str, str]]:
    """One row per invoice, with the column names people use (`nome`, `celular`, `cpf`, ...)."""
    rows = []
    for customer in customers:
        for invoice in customer.invoices:
            rows.append(
                {
                    "nome": customer.name,
                    "celular": f"({customer.phone[2:4]}) {customer.phone[4:9]}-{customer.phone[9:]}",
                    "cpf": customer.formatted_document,
                    "valor": f"R$ {invoice.amount:.2f}".replace(".", ","),
                    "fatura": invoice.number,
                    "vencimento": f"{invoice.due_date:%d/%m/%Y}",
                }
            )
    return rows
