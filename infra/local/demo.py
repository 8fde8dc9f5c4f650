"""`cobranca demo`: a scripted campaign of simulated customers, end to end, on a virtual month.

Everything goes through the system's real doors: the campaign is created, its spreadsheet (XLSX)
imported and activated over HTTP with a local admin token; customers answer through the Evolution
and Twilio simulators' webhooks; the runtime feeds the real handlers. The clock stands still except
when the demo moves it: every `step` during business hours (08:00–20:00 São Paulo; three times longer
while nothing but the scheduler's tick happens), and straight to the next morning at night. After each
move the demo waits until the system is quiet. Then a simulated agent works the human desk: every
customer waiting in the "Fila de atendimento" is taken, answered on WhatsApp and resolved, over HTTP
with the supervisor's token, as a person at the dashboard would.

The campaign offers a trust unlock on a promise: with BILLING_SYSTEM=ixc, sgp or hubsoft that ERP's
simulator (seeded with the same customers) restores their internet; with the generic CRM it is recorded unsupported.
The endings are the same either way.

At the end it prints the funnel (`/campaigns/{id}/stats`, `/metrics`), the money KPIs beside it (R$ in
collection, promised, kept, recovered, self-cured, recovery rate), the outcomes and the promise
lifecycle, then checks every simulated customer against its persona's expected ending — one case
holding all of the customer's invoices, its state and outcome, its promise, the messages and calls
it got — and exits 1 if any ended elsewhere.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Final

import httpx

from infra.local import topology
from infra.local.customers import BY_PHONE, ZONE, Persona, SimulatedCustomer, spreadsheet_rows
from infra.local.sandbox import Sandbox, SandboxOptions, cloud_templates, log_file
from shared.domain.money import format_brl
from shared.engine import warm_transfer

DEFAULT_START: Final = datetime(2025, 3, 10, 8, 0, tzinfo=ZONE)  # a Monday
# Ten of each persona on average (every one at least once, see `persona_mix`): enough to show the
# funnel and to check every persona's ending many times over, small enough that `make demo` plays the
# month in about a minute on a shared two-core machine.
DEFAULT_CUSTOMERS: Final = 100
BUSINESS_START: Final = 8
BUSINESS_END: Final = 20
QUIET_STEPS: Final = 3
QUIET_FACTOR: Final = 3
SETTLE_TIMEOUT: Final = 120.0  # seconds a step may take to settle (the first day's wave is the longest)
# The demo campaign's cadence: short enough that a customer who never resolves runs out within the demo.
FOLLOW_UP_AFTER_DAYS: Final = 2
MAX_CONTACTS: Final = 5
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DESK_REPLY: Final = "Olá, aqui é a Carla, do atendimento da TR Telecom."


@dataclass
class DemoOptions:
    customers: int = DEFAULT_CUSTOMERS
    days: int = 30
    start: datetime = DEFAULT_START
    step_minutes: int = 60
    log_path: Path = Path("build/sandbox/demo.log")
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    whatsapp_outage: int | None = None  # the virtual day (0 = the first) the instance is down 09:00–15:00


@dataclass(frozen=True)
class Ending:
    """What a case (target) ended as."""

    state: str
    outcome: str | None


@dataclass
class Verdict:
    customer: SimulatedCustomer
    ok: bool
    got: str
    expected: str


def run(options: DemoOptions) -> int:
    """Play the demo; 0 when every persona ended as expected, 1 otherwise."""
    out = options.out
    started = time.monotonic()
    with log_file(options.log_path) as logs:
        sandbox = Sandbox(
            SandboxOptions(
                port=0, clock=options.start, flowing_clock=False, log_stream=logs, log_level="INFO"
            )
        )
        with sandbox:
            missing = [
                name for name in ("crm", "evolution", "twilio") if getattr(sandbox.simulators, name) is None
            ]
            if missing:
                print(
                    f"cobranca demo plays simulated customers: unset {', '.join(v.upper() for v in missing)} "
                    "URL variables (CRM_API_URL, EVOLUTION_API_URL, TWILIO_API_BASE_URL).",
                    file=out,
                )
                return 2
            print(
                f"Cobrança demo — {options.customers} simulated customers, {options.days} virtual days",
                file=out,
            )
            print(f"  API {sandbox.url}   model: {sandbox.simulators.describe()['openai']}", file=out)
            print(f"  billing system: {sandbox.simulators.billing()}", file=out)
            print(f"  logs: {options.log_path}", file=out)
            customers = sandbox.customers.populate(options.customers, today=options.start.date())
            with httpx.Client(base_url=sandbox.url, timeout=60) as api:
                campaign = _set_up(api, sandbox, customers, out)
                agent = DeskAgent(api, sandbox)
                outage = (
                    None
                    if options.whatsapp_outage is None
                    else Outage.on_day(options.start, options.whatsapp_outage, api, sandbox, campaign, out)
                )
                _play(
                    sandbox,
                    options,
                    customers,
                    out,
                    # The agent sees the banner and waits for WhatsApp to come back (the desk answers on it).
                    desk=lambda: 0 if outage is not None and outage.down() else agent.answer(),
                    outage=outage,
                )
                if outage is not None:
                    outage.summarise()
                report = _report(api, sandbox, campaign, customers)
            print(report.text, file=out)
            realtime = sandbox.simulators.realtime
            errors = (
                sandbox.customers.errors + (realtime.errors if realtime else []) + _handler_errors(sandbox)
            )
            for line in errors[:10]:
                print(f"  ! {line}", file=out)
            elapsed = time.monotonic() - started
            wrong = [v for v in report.verdicts if not v.ok]
            print(
                f"\n{len(report.verdicts) - len(wrong)}/{len(report.verdicts)} customers ended as their persona "
                f"expects; {options.days} virtual days in {elapsed:.0f} s of real time "
                f"({sandbox.aws.requests_served if sandbox.aws else 0} requests to the local AWS).",
                file=out,
            )
            return 1 if wrong else 0


# --------------------------------------------------------------------------------------------------
# Setting up: campaign, spreadsheet, activation — all through the API
# --------------------------------------------------------------------------------------------------


def _set_up(api: httpx.Client, sandbox: Sandbox, customers: list[SimulatedCustomer], out: IO[str]) -> str:
    admin, supervisor = sandbox.headers("admin"), sandbox.headers("supervisor")
    templates = cloud_templates(bool(os.environ.get("COMPANY_CNPJ")))
    created = api.post(
        "/api/voice/campaigns",
        headers=admin,
        json={
            "name": "Demo — cobrança de março",
            "contactMethod": "whatsapp_primary",
            "allowedMethods": ["whatsapp", "voice"],
            "fallbackOrder": ["whatsapp", "voice"],
            "scheduleStart": "08:00",
            "scheduleEnd": "20:00",
            "trustUnlock": True,
            "followUpAfterDays": FOLLOW_UP_AFTER_DAYS,
            "maxContacts": MAX_CONTACTS,
            # On the Cloud API: the simulated instance's approved template for each step.
            **(
                {
                    "whatsappTemplates": {
                        step: {"name": t[0], "language": t[1]} for step, t in templates.items()
                    }
                }
                if on_cloud()
                else {}
            ),
        },
    )
    _ok(created, "create the campaign")
    campaign_id = str(created.json()["id"])
    rows = spreadsheet_rows(customers)
    imported = api.post(
        f"/api/voice/campaigns/{campaign_id}/targets/import",
        headers=admin,
        files={"file": ("clientes-marco.xlsx", _xlsx(rows), XLSX)},
    )
    _ok(imported, "import the spreadsheet")
    body = imported.json()
    print(
        f"  imported {body['imported']} of {len(rows)} rows ({len(body['errors'])} rejected) into "
        f"{body['customersCreated']} customers' cases",
        file=out,
    )
    _ok(api.post(f"/api/voice/campaigns/{campaign_id}/activate", headers=supervisor), "activate the campaign")
    return campaign_id


def on_cloud() -> bool:
    """Whether the sandbox's Evolution instance is on WhatsApp's Cloud API (EVOLUTION_INTEGRATION=cloud)."""
    return os.environ.get("EVOLUTION_INTEGRATION") == "cloud"


def _xlsx(rows: list[dict[str, str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Inadimplentes"
    sheet.append(["Relatório de inadimplentes — março"])  # a title line above the header, as people do
    sheet.append(list(rows[0]))
    for row in rows:
        sheet.append(list(row.values()))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _ok(response: httpx.Response, what: str) -> None:
    if response.status_code >= 400:
        raise RuntimeError(f"could not {what}: HTTP {response.status_code} {response.text[:300]}")


# --------------------------------------------------------------------------------------------------
# Playing the month
# --------------------------------------------------------------------------------------------------


def next_step(now: datetime, step: timedelta) -> datetime:
    """`step` later during business hours; otherwise the next business morning (Sundays skipped)."""
    local = now.astimezone(ZONE)
    if local.isoweekday() != 7 and BUSINESS_START <= local.hour < BUSINESS_END:
        return now + step
    morning = local.replace(hour=BUSINESS_START, minute=0, second=0, microsecond=0)
    if local.hour >= BUSINESS_START:
        morning += timedelta(days=1)
    if morning.isoweekday() == 7:
        morning += timedelta(days=1)
    return morning


def _play(
    sandbox: Sandbox,
    options: DemoOptions,
    customers: list[SimulatedCustomer],
    out: IO[str],
    desk: Callable[[], int],
    outage: Outage | None = None,
) -> None:
    """Move the clock step by step until the end, waiting for the system to be quiet after each move
    and letting the desk's agent answer whoever waits for a person (and the WhatsApp instance go down
    and come back at the `outage`'s instants, which the clock stops at).
    After `QUIET_STEPS` steps in which nothing but the scheduler's tick ran, steps become
    `QUIET_FACTOR` times longer (still inside business hours) until something happens again."""
    end = options.start + timedelta(days=options.days)
    step = timedelta(minutes=options.step_minutes)
    progress = _Progress(out, options.start, end, lambda: _counts(sandbox, customers))
    stalls = quiet = 0
    seen = _work_done(sandbox)
    while True:
        now = sandbox.clock.now()
        if outage is not None:
            outage.act(now)  # at its instant, with the work due then: the morning's sends meet it
        if not sandbox.settle(timeout=SETTLE_TIMEOUT):
            stalls += 1
        if desk() and not sandbox.settle(timeout=SETTLE_TIMEOUT):
            stalls += 1
        if outage is not None:
            outage.observe(now)
        progress.show(now)
        if now >= end:
            break
        done = _work_done(sandbox)
        quiet, seen = (quiet + 1 if done == seen else 0), done
        stride = step * QUIET_FACTOR if quiet >= QUIET_STEPS else step
        upcoming = [outage.next_event(now)] if outage is not None else []
        sandbox.clock.set(min([next_step(now, stride), end, *[u for u in upcoming if u is not None]]))
    progress.done()
    if stalls:
        print(f"  ({stalls} steps did not settle within {SETTLE_TIMEOUT:.0f} s; see the log)", file=out)


# The hours (São Paulo) of `--whatsapp-outage`'s day during which the instance is down. On day 1 the
# WhatsApp first contacts nobody answered are retried at 10:00 (unanswered for WHATSAPP_REPLY_HOURS, then
# the retry's delay): they meet the pause.
OUTAGE_FROM: Final = 9
OUTAGE_UNTIL: Final = 15
_VOICE: Final = "voice"


@dataclass
class Outage:
    """`--whatsapp-outage DAY`: the Evolution simulator's instance disconnects at `OUTAGE_FROM` of that
    virtual day and reconnects at `OUTAGE_UNTIL` (each a `connection.update` webhook). The demo reads
    the breaker as the dashboard's banner does (`GET /api/voice/channels/whatsapp`) and the campaign's
    cases as its case list does, and tells what the pause did:

    - **held**: the cases on WhatsApp when the instance went down whose WhatsApp step came due while
      it was paused — seen pending and due on WhatsApp, or moved to voice, after a step settled. None
      may lose an attempt to the pause (**burned**: more attempts at the reconnect than when it went
      down, beyond the call it got) and no WhatsApp message may leave;
    - **called instead**: those of them the campaign's next channel (voice) reached during the pause;
    - **resumed**: when the first WhatsApp message went once the breaker closed, and how many went
      after the reconnect."""

    down_at: datetime
    up_at: datetime
    api: httpx.Client
    sandbox: Sandbox
    campaign_id: str
    out: IO[str]
    phase: str = "before"  # before | down | after
    opened: datetime | None = None
    reason: str | None = None
    closed: datetime | None = None
    snapshot: dict[str, dict[str, Any]] = field(default_factory=dict)  # the cases when it went down
    held: set[str] = field(default_factory=set)
    called: set[str] = field(default_factory=set)
    burned: set[str] = field(default_factory=set)
    calls_before: set[str] = field(default_factory=set)  # the calls' sids when it went down
    paused_calls: int = 0
    whatsapp_at_down: int = 0
    whatsapp_while_paused: int = 0
    whatsapp_at_up: int = 0
    resumed: datetime | None = None

    @classmethod
    def on_day(
        cls, start: datetime, day: int, api: httpx.Client, sandbox: Sandbox, campaign_id: str, out: IO[str]
    ) -> Outage:
        date = (start.astimezone(ZONE) + timedelta(days=day)).replace(minute=0, second=0, microsecond=0)
        return cls(
            date.replace(hour=OUTAGE_FROM), date.replace(hour=OUTAGE_UNTIL), api, sandbox, campaign_id, out
        )

    def down(self) -> bool:
        return self.phase == "down"

    def next_event(self, now: datetime) -> datetime | None:
        """The outage's next instant after `now`, for the clock to stop at."""
        pending = {"before": self.down_at, "down": self.up_at}.get(self.phase)
        return pending if pending is not None and pending > now else None

    def act(self, now: datetime) -> None:
        """Disconnect or reconnect the instance when `now` reached that instant."""
        evolution = self.sandbox.simulators.evolution
        assert evolution is not None
        if self.phase == "before" and now >= self.down_at:
            self.snapshot = {case["id"]: case for case in self._cases()}
            self.calls_before = set(self._calls())
            self.whatsapp_at_down = self._whatsapp_sent()
            evolution.disconnect()
            self.phase = "down"
            print(f"  ⚠ {_when(now)}: the WhatsApp instance disconnects", file=self.out)
        elif self.phase == "down" and now >= self.up_at:
            self._tally_pause()
            self.whatsapp_at_up = self._whatsapp_sent()
            evolution.reconnect()
            self.phase = "after"
            print(f"  ✓ {_when(now)}: the WhatsApp instance reconnects", file=self.out)

    def observe(self, now: datetime) -> None:
        """After the system settled at `now`: the breaker as the banner shows it, the cases due while
        paused, and the WhatsApp messages once it closed."""
        if self.phase == "down":
            self._held_by(now)
            if self.opened is None:
                channel = self._channel()
                if channel["blocked"]:
                    self.opened = datetime.fromisoformat(channel["since"])
                    self.reason = f"{channel['reason']}: {channel['message']}"
                    print(f"  ⚠ {_when(self.opened)}: breaker opened ({self.reason})", file=self.out)
        elif self.phase == "after" and self.closed is None and not self._channel()["blocked"]:
            self.closed = now
            print(f"  ✓ {_when(now)}: breaker closed (instance open, probe passed)", file=self.out)
        if self.closed is not None and self.resumed is None and self._whatsapp_sent() > self.whatsapp_at_up:
            self.resumed = now

    def summarise(self) -> None:
        opened = _when(self.opened) if self.opened else "never"
        closed = _when(self.closed) if self.closed else "never"
        resumed = _when(self.resumed) if self.resumed else "never"
        lines = [
            "",
            f"WhatsApp outage {_when(self.down_at)} → {self.up_at.astimezone(ZONE):%H:%M} "
            "(breaker as GET /api/voice/channels/whatsapp shows it; cases as the campaign's case list)",
            f"  breaker opened {opened} ({self.reason or '-'})",
            f"  while paused: {len(self.held)} cases due on WhatsApp held pending ({len(self.burned)} attempts "
            f"burned, {self.whatsapp_while_paused} WhatsApp messages sent); {len(self.called)} of them called "
            f"instead (calls placed while paused: {self.paused_calls})",
            f"  breaker closed {closed} (instance open, probe passed); WhatsApp sends resumed {resumed}: "
            f"{self._whatsapp_sent() - self.whatsapp_at_up} messages after the reconnect",
        ]
        print("\n".join(lines), file=self.out)

    def _held_by(self, now: datetime) -> None:
        """The cases on WhatsApp when the instance went down whose WhatsApp step came due by `now`:
        waiting, pending and due, on WhatsApp, or sent to voice instead."""
        for case in self._cases():
            before = self.snapshot.get(case["id"])
            if before is None or before["channel"] == _VOICE:
                continue
            due = case["state"] == "pending" and datetime.fromisoformat(case["nextAttemptAt"]) <= now
            if case["channel"] == _VOICE or due:
                self.held.add(case["id"])

    def _tally_pause(self) -> None:
        """At the reconnect: the calls placed while paused, the held cases they reached, and any held
        case that lost an attempt to the pause."""
        new_calls = {sid for sid in self._calls() if sid not in self.calls_before}
        self.paused_calls = len(new_calls)
        self.whatsapp_while_paused = self._whatsapp_sent() - self.whatsapp_at_down
        for case in self._cases():
            if case["id"] not in self.held:
                continue
            called = case["callSid"] in new_calls
            if called:
                self.called.add(case["id"])
            if case["attemptCount"] > self.snapshot[case["id"]]["attemptCount"] + called:
                self.burned.add(case["id"])

    def _channel(self) -> dict[str, Any]:
        response = self.api.get("/api/voice/channels/whatsapp", headers=self.sandbox.headers("viewer"))
        _ok(response, "read the WhatsApp channel's state")
        body: dict[str, Any] = response.json()
        return body

    def _cases(self) -> list[dict[str, Any]]:
        return _all(
            self.api, f"/api/voice/campaigns/{self.campaign_id}/targets", self.sandbox.headers("viewer")
        )

    def _calls(self) -> list[str]:
        twilio = self.sandbox.simulators.twilio
        return list(dict(twilio.calls)) if twilio else []

    def _whatsapp_sent(self) -> int:
        evolution = self.sandbox.simulators.evolution
        return len(evolution.sent) + len(evolution.sent_templates) if evolution else 0


def _when(at: datetime) -> str:
    return f"{at.astimezone(ZONE):%a %d/%m %H:%M}"


@dataclass
class DeskAgent:
    """The simulated agent at the human desk: takes, answers and resolves every conversation waiting in
    its queue, over HTTP with the supervisor's token.

    On WhatsApp's Cloud API (EVOLUTION_INTEGRATION=cloud) free text goes only inside the 24 h window the
    customer's last WhatsApp message opened; a customer handed over on a call who never wrote on WhatsApp
    has no window (Lia asked them to write first), and a reply would be refused (409
    `whatsapp_window_closed`). The queue says so (`replyBlockedReason`), as the dashboard's reply box
    does: the agent leaves the conversation waiting, and answers once the customer wrote."""

    api: httpx.Client
    sandbox: Sandbox

    def answer(self) -> int:
        """Work the queue once; how many conversations it answered and resolved."""
        supervisor = self.sandbox.headers("supervisor")
        queue = self.api.get("/api/voice/conversations/queue", headers=supervisor)
        _ok(queue, "read the desk's queue")
        answered = 0
        for entry in queue.json()["items"]:
            if entry["replyBlockedReason"] is not None:
                continue
            path = f"/api/voice/conversations/{entry['id']}"
            _ok(self.api.post(f"{path}/take", headers=supervisor), "take a waiting conversation")
            reply = self.api.post(f"{path}/messages", headers=supervisor, json={"text": DESK_REPLY})
            _ok(reply, "answer from the desk")
            _ok(self.api.post(f"{path}/resolve", headers=supervisor), "resolve the conversation")
            answered += 1
        return answered


def _work_done(sandbox: Sandbox) -> int:
    """Records handled by every worker but the scheduler (whose tick runs at every step)."""
    scheduler = topology.queue("scheduler").consumer
    return sum(s.records for path, s in sandbox.runtime.handlers.stats.items() if path != scheduler)


def _counts(sandbox: Sandbox, customers: list[SimulatedCustomer]) -> str:
    sims = sandbox.simulators
    sent = len(sims.evolution.sent) + len(sims.evolution.sent_templates) if sims.evolution else 0
    calls = len(sims.twilio.calls) if sims.twilio else 0
    paid = sum(1 for c in customers if c.paid)
    replies = sum(1 for c in customers if c.stage and c.persona not in (Persona.PAYS_AFTER_MESSAGE, None))
    templates = len(sims.evolution.sent_templates) if sims.evolution else 0
    of_which = f" (templates {templates})" if templates else ""  # EVOLUTION_INTEGRATION=cloud
    return f"WhatsApp {sent:>4}{of_which}  calls {calls:>3}  replied {replies:>3}  paid {paid:>3}"


class _Progress:
    WIDTH = 30

    def __init__(self, out: IO[str], start: datetime, end: datetime, counts: Callable[[], str]) -> None:
        self._out, self._start, self._end, self._counts = out, start, end, counts
        self._tty = out.isatty()
        self._last_day = -1

    def show(self, now: datetime) -> None:
        total = (self._end - self._start).total_seconds()
        done = min(1.0, (now - self._start).total_seconds() / total)
        day = int((now - self._start).total_seconds() // 86400)
        if not self._tty and day == self._last_day:
            return
        self._last_day = day
        filled = int(done * self.WIDTH)
        bar = "█" * filled + "·" * (self.WIDTH - filled)
        local = now.astimezone(ZONE)
        line = f"  [{bar}] day {day:>2}  {local:%a %d/%m %H:%M}  {self._counts()}"
        if self._tty:
            self._out.write("\r" + line)
        else:
            self._out.write(line + "\n")
        self._out.flush()

    def done(self) -> None:
        if self._tty:
            self._out.write("\n")


# --------------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------------


@dataclass
class Report:
    text: str
    verdicts: list[Verdict]


def _report(
    api: httpx.Client, sandbox: Sandbox, campaign_id: str, customers: list[SimulatedCustomer]
) -> Report:
    viewer = sandbox.headers("viewer")
    stats = api.get(f"/api/voice/campaigns/{campaign_id}/stats", headers=viewer).json()
    metrics = api.get("/api/voice/metrics", headers=viewer).json()
    targets = _all(api, f"/api/voice/campaigns/{campaign_id}/targets", viewer)
    promises = _all(api, "/api/voice/promises", viewer)
    verdicts = verify(customers, targets, promises, sandbox, cloud=on_cloud())
    lines = ["", "Funnel (GET /api/voice/campaigns/{id}/stats)"]
    lines.append(
        f"  targets {stats['totalTargets']}   reached {stats['reached']}   responded {stats['responded']}"
        f"   promised {stats['promised']}   paid {stats['paid']} (before any contact: {stats['selfCured']})"
    )
    for kpi in stats["kpis"]:
        mark = "✓" if kpi["met"] else "·"
        lines.append(
            f"  {mark} {kpi['name']:<15} {float(kpi['value']):>5.1f}%  ({kpi['numerator']}/{kpi['denominator']}, "
            f"goal > {float(kpi['goal']):.0f}%)"
        )
    lines.append(
        f"  channels: WhatsApp {stats['channels'].get('whatsapp', 0)}, voice {stats['channels'].get('voice', 0)}"
    )
    lines.append("Metrics (GET /api/voice/metrics)")
    lines.append(
        f"  contacts {metrics['totalContacts']} (WhatsApp {metrics['totalWhatsAppMessages']}, calls "
        f"{metrics['totalCalls']})   conversion {float(metrics['conversionRate']):.1f}%"
        f" (paid after contact / contacted; {metrics['selfCured']} paid before any contact)"
    )
    lines.append("Money (campaign: GET /api/voice/campaigns/{id}/stats; overall: GET /api/voice/metrics)")
    lines.append(f"  campaign  {money_line(stats)}")
    lines.append(f"  overall   {money_line(metrics)}")
    lines.append("Cases (one per customer) by state / outcome")
    lines.append("  " + "  ".join(f"{k} {v}" for k, v in stats["states"].items() if v))
    lines.append("  " + "  ".join(f"{k} {v}" for k, v in sorted(stats["outcomes"].items()) if v))
    statuses = Counter(p["status"] for p in promises)
    lines.append("Promise lifecycle")
    lines.append(
        f"  made {len(promises)}   pending {statuses['pending']}   fulfilled {statuses['fulfilled']}   "
        f"broken {statuses['broken']}   renegotiated {statuses['renegotiated']}"
    )
    unlocks = Counter(p["unlockStatus"] for p in promises if p["unlockStatus"])
    lines.append(
        "  trust unlock  " + ("  ".join(f"{k} {v}" for k, v in sorted(unlocks.items())) or "none asked")
    )
    desk = api.get("/api/voice/conversations/queue", headers=viewer).json()
    first = desk["firstHumanReply"]
    lines.append("Human desk (GET /api/voice/conversations/queue)")
    lines.append(
        f"  waiting {desk['waiting']}   answered {first['count']}   first human reply: median "
        f"{first['medianMinutes']} min, p90 {first['p90Minutes']} min"
    )
    lines.append("Personas (expected ending → customers that got it; 📞 settles on a call)")
    by_persona: dict[Persona, list[Verdict]] = {}
    for verdict in verdicts:
        assert verdict.customer.persona is not None
        by_persona.setdefault(verdict.customer.persona, []).append(verdict)
    for persona, group in by_persona.items():
        good = sum(1 for v in group if v.ok)
        mark = "✓" if good == len(group) else "✗"
        phone = "📞" if persona in BY_PHONE else "  "
        lines.append(f"  {mark} {persona.value:<20} {good:>3}/{len(group):<3} {phone} {group[0].expected}")
        for bad in [v for v in group if not v.ok][:3]:
            lines.append(f"      ✗ {bad.customer.name} ({bad.customer.phone[-4:]}): got {bad.got}")
            lines.append(f"        transcript: {_short(bad.customer.transcript)}")
    return Report("\n".join(lines), verdicts)


# The money KPIs' wire names and how the demo labels them (pt-BR, as the dashboard's cards).
MONEY_LABELS: Final = (
    ("amountInCollection", "em cobrança"),
    ("amountPromised", "prometido"),
    ("amountKept", "cumprido"),
    ("amountRecovered", "recuperado"),
    ("amountSelfCured", "autorregularizado"),
)


def money_line(kpis: dict[str, Any]) -> str:
    """The money KPIs of a `/stats` or `/metrics` answer: `em cobrança R$ 1.234,56 ... taxa de
    recuperação 12,3%`."""
    amounts = "   ".join(f"{label} {format_brl(Decimal(str(kpis[name])))}" for name, label in MONEY_LABELS)
    rate = f"{Decimal(str(kpis['recoveryRate'])):.1f}".replace(".", ",")
    return f"{amounts}   taxa de recuperação {rate}%"


def _all(api: httpx.Client, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        response = api.get(path, headers=headers, params=params)
        _ok(response, f"read {path}")
        items.extend(response.json())
        cursor = response.headers.get("X-Next-Cursor")
        if not cursor:
            return items


def _short(transcript: list[tuple[str, str]]) -> str:
    return " | ".join(f"{who}: {text[:60]!r}" for who, text in transcript[-6:])


# --------------------------------------------------------------------------------------------------
# What each persona must end as
# --------------------------------------------------------------------------------------------------

PAID = Ending("completed", "paid")
EXHAUSTED = Ending("completed", "exhausted")


@dataclass(frozen=True)
class Expected:
    ending: Ending  # of the customer's one case
    promise: str | None = None  # the status of the customer's promise, if one must exist
    whatsapp: Callable[[int], bool] = lambda n: True  # messages received
    calls: Callable[[int], bool] = lambda n: True  # calls received
    contacts: Callable[[int], bool] = lambda n: True  # the case's contactCount (outreach sent)
    desk: bool = False  # answered by the desk's agent (and resolved); no one else is
    heard: str | None = None  # words Lia must have said to the customer on a call
    text: str = ""


EXPECTED: Final[dict[Persona, Expected]] = {
    Persona.PAYS_AFTER_MESSAGE: Expected(
        PAID,
        whatsapp=lambda n: n == 1,
        calls=lambda n: n == 0,
        contacts=lambda n: n == 1,
        text="one case for both invoices, completed/paid by the guard at its no-reply follow-up; 1 message",
    ),
    Persona.PROMISES_AND_PAYS: Expected(PAID, promise="fulfilled", text="completed/paid, promise fulfilled"),
    Persona.SEVERAL_INVOICES: Expected(
        PAID,
        promise="fulfilled",
        contacts=lambda n: n == 1,
        text="one case for the three invoices, one first message: completed/paid, promise fulfilled",
    ),
    Persona.PROMISES_AND_BREAKS: Expected(
        Ending("completed", "exhausted"),
        promise="broken",
        whatsapp=lambda n: n >= 5,
        contacts=lambda n: n == MAX_CONTACTS,
        text="promise broken → the message after a broken promise, unanswered → followed up until the "
        f"{MAX_CONTACTS} contacts are spent: completed/exhausted",
    ),
    Persona.ALREADY_PAID: Expected(
        PAID,
        whatsapp=lambda n: n == 0,
        calls=lambda n: n == 0,
        contacts=lambda n: n == 0,
        text="completed/paid, never contacted",
    ),
    Persona.CLAIMS_PAYMENT: Expected(
        PAID, whatsapp=lambda n: n == 2, text="payment_claimed, then completed/paid when the CRM shows it"
    ),
    Persona.OPTS_OUT: Expected(
        Ending("completed", "opted_out"),
        whatsapp=lambda n: n == 2,
        calls=lambda n: n == 0,
        text="completed/opted_out, never contacted again",
    ),
    Persona.NOT_ON_WHATSAPP: Expected(
        PAID,
        promise="fulfilled",
        whatsapp=lambda n: n == 0,
        calls=lambda n: n == 1,
        text="voice fallback: on the call gives the CPF and promises 'dia X', pays before it: completed/paid",
    ),
    Persona.IGNORES_WHATSAPP: Expected(
        EXHAUSTED,
        calls=lambda n: n >= 2,  # more when a WhatsApp outage turned messages into calls
        contacts=lambda n: n == MAX_CONTACTS,
        desk=True,
        heard=warm_transfer.CALLBACK,
        text="3 messages left unanswered, then on the call asks for an atendente: promised a callback on "
        "WhatsApp, answered from the desk and resolved with nothing agreed, so the cadence goes on: "
        f"called again, asks for a person again, and the {MAX_CONTACTS} contacts are spent: completed/exhausted",
    ),
    Persona.STOPS_CALLS: Expected(
        Ending("completed", "opted_out"),
        whatsapp=lambda n: n == 0,
        calls=lambda n: n == 1,
        text="on the call asks not to be called again: completed/opted_out, never called again",
    ),
    Persona.NEVER_ANSWERS: Expected(
        PAID,
        whatsapp=lambda n: n == 0,
        calls=lambda n: n == 3,
        contacts=lambda n: n == 3,
        text="3 unanswered calls, then completed/no_answer; pays at the bank 4 days after the last call: "
        "the late payment check, 7 days after the case ended, closes it completed/paid",
    ),
    Persona.HARDSHIP: Expected(
        EXHAUSTED,
        contacts=lambda n: n == MAX_CONTACTS,
        desk=True,
        text="handed to a human, answered from the desk and resolved with nothing agreed, so the cadence "
        f"goes on: followed up until the {MAX_CONTACTS} contacts are spent, completed/exhausted",
    ),
    Persona.FOLLOWED_UP_PROMISES: Expected(
        PAID,
        promise="fulfilled",
        contacts=lambda n: n == 2,
        text="'vou ver' → followed up days later → promises on the follow-up: completed/paid",
    ),
    Persona.NEVER_RESOLVES: Expected(
        EXHAUSTED,
        contacts=lambda n: n == MAX_CONTACTS,
        calls=lambda n: n == 0,
        text=f"'vou ver' every time: followed up until the {MAX_CONTACTS} contacts are spent, completed/exhausted",
    ),
    Persona.KEEPS_PARTIAL_PROMISE: Expected(
        EXHAUSTED,
        promise="fulfilled",
        contacts=lambda n: n == MAX_CONTACTS,
        text="promises one of two invoices and pays it: promise fulfilled, the case goes on for the other, "
        f"followed up until the {MAX_CONTACTS} contacts are spent: completed/exhausted (never paid)",
    ),
}


# On WhatsApp's Cloud API the desk cannot write first: a customer handed over on a call who never wrote
# on WhatsApp has no 24 h window, so Lia asks them to write to the company's WhatsApp; this persona never
# does, so the desk cannot reply (a reply would be 409 whatsapp_window_closed) and the case waits in
# the desk's queue for the customer to write.
EXPECTED_ON_CLOUD: Final[dict[Persona, Expected]] = {
    **EXPECTED,
    Persona.IGNORES_WHATSAPP: replace(
        EXPECTED[Persona.IGNORES_WHATSAPP],
        ending=Ending("contacted", "transferred"),
        calls=lambda n: n == 1,
        contacts=lambda n: n == 4,
        desk=False,
        heard=warm_transfer.WRITE_FIRST,
        text="3 messages left unanswered, then on the call asks for an atendente: contacted/transferred; "
        "no 24 h window, so Lia asks them to write on WhatsApp; they never do: the case waits in the queue",
    ),
}


def verify(
    customers: list[SimulatedCustomer],
    targets: list[dict[str, Any]],
    promises: list[dict[str, Any]],
    sandbox: Sandbox,
    *,
    cloud: bool = False,
) -> list[Verdict]:
    """Each persona customer's case, promise and contacts against `EXPECTED` (`EXPECTED_ON_CLOUD` on
    WhatsApp's Cloud API): the customer's invoices must all be in one case, holding nothing else."""
    expectations = EXPECTED_ON_CLOUD if cloud else EXPECTED
    by_invoice = {invoice["invoiceNumber"]: t for t in targets for invoice in t["invoices"]}
    promise_of_target: dict[str, str] = {}
    for promise in sorted(promises, key=lambda p: p["createdAt"]):
        if promise.get("targetId"):
            promise_of_target[promise["targetId"]] = promise["status"]
    verdicts = []
    for customer in customers:
        if customer.persona is None:
            continue
        expected = expectations[customer.persona]
        numbers = [invoice.number for invoice in customer.invoices]
        cases = {by_invoice[n]["id"]: by_invoice[n] for n in numbers if n in by_invoice}
        if len(cases) != 1:
            verdicts.append(Verdict(customer, False, f"{len(cases)} cases", expected.text))
            continue
        [case] = cases.values()
        texts, calls = _contacts(sandbox, customer)
        answered = _answered_by_desk(sandbox, customer)
        problems = []
        held = [invoice["invoiceNumber"] for invoice in case["invoices"]]
        if held != numbers:
            problems.append(f"case holds invoices {held}")
        ending = Ending(case["state"], case["outcome"])
        if ending != expected.ending:
            problems.append(f"{ending.state}/{ending.outcome}")
        if not expected.contacts(case["contactCount"]):
            problems.append(f"contactCount {case['contactCount']}")
        statuses = [promise_of_target[case["id"]]] if case["id"] in promise_of_target else []
        if expected.promise is not None and statuses != [expected.promise]:
            problems.append(f"promise {statuses or 'none'}")
        if not expected.whatsapp(texts):
            problems.append(f"{texts} WhatsApp messages")
        if not expected.calls(calls):
            problems.append(f"{calls} calls")
        if answered != expected.desk:
            problems.append("answered from the desk" if answered else "not answered from the desk")
        lia = [said for who, said in customer.transcript if who == "lia"]
        if expected.heard is not None and not any(expected.heard in said for said in lia):
            problems.append(f"Lia never said “{expected.heard[:40]}…”")
        verdicts.append(Verdict(customer, not problems, "; ".join(problems), expected.text))
    return verdicts


def _contacts(sandbox: Sandbox, customer: SimulatedCustomer) -> tuple[int, int]:
    sims = sandbox.simulators
    # A message is free text or, on the Cloud API, an approved template.
    texts = (
        len(sims.evolution.texts_to(customer.phone)) + len(sims.evolution.templates_to(customer.phone))
        if sims.evolution
        else 0
    )
    calls = len(sims.twilio.calls_to("+" + customer.phone)) if sims.twilio else 0
    return texts, calls


def _answered_by_desk(sandbox: Sandbox, customer: SimulatedCustomer) -> bool:
    evolution = sandbox.simulators.evolution
    return evolution is not None and DESK_REPLY in evolution.texts_to(customer.phone)


def _handler_errors(sandbox: Sandbox) -> list[str]:
    return [
        f"{path}: {stats.errors} failed invocation(s), last: {stats.last_error}"
        for path, stats in sandbox.runtime.handlers.stats.items()
        if stats.errors
    ]
