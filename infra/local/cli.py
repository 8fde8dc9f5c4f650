"""`cobranca`: the local sandbox from the command line.

cobranca local [--port 8000] [--clock ISO] [--seed-demo] [--frozen-clock]
cobranca demo  [--customers 100] [--days 30] [--step-minutes 30] [--whatsapp-outage DAY]
cobranca chat  PHONE [--url http://127.0.0.1:8000] [--token local-supervisor]
cobranca upgrade --table-prefix PREFIX [--from-prefix EARLIER] [--apply] [--cursor STEP:CURSOR] [--page 100]

`upgrade` is not the sandbox: it migrates the items of a deployed stack after `make deploy` of a new
version (README, "Upgrading a deployed stack"), with the AWS credentials and region of the shell.

`local` and `demo` honour BILLING_SYSTEM: with `ixc`, `sgp` or `hubsoft` (and no IXC_API_URL, SGP_API_URL,
HUBSOFT_API_URL) that ERP's simulator, seeded with the same customers, is the billing system.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from infra.local.environment import Environment

DEFAULT_URL = "http://127.0.0.1:8000"
SEED_CUSTOMERS = 18
# What `local` and `demo` need beyond the runtime: the `sandbox` extra of pyproject.toml.
SANDBOX_MODULES = ("moto", "flask", "flask_cors")
INSTALL_SANDBOX = 'pip install -e ".[sandbox]"'
# The customer a person chats as after `--seed-demo` (no persona: nobody answers for them).
YOU = {"name": "Você Testando", "phone": "5511987650000", "document": "52998224725", "debt": "179.80"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cobranca", description="Cobrança on one laptop")
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="run the whole system locally (API, workers, simulators)")
    local.add_argument("--port", type=int, default=8000, help="API port (0: any free port)")
    local.add_argument("--clock", type=_instant, help="start the virtual clock here (ISO 8601 with offset)")
    local.add_argument(
        "--frozen-clock", action="store_true", help="time moves only through POST /api/dev/clock"
    )
    local.add_argument(
        "--seed-demo", action="store_true", help="a campaign of simulated customers, activated"
    )
    local.add_argument("--log-file", type=Path, default=Path("build/sandbox/local.log"), help="'-': stdout")

    demo = commands.add_parser(
        "demo", help="play a scripted campaign of simulated customers and print its funnel"
    )
    demo.add_argument("--customers", type=int, help="default: infra.local.demo.DEFAULT_CUSTOMERS (100)")
    demo.add_argument("--days", type=int, default=30)
    demo.add_argument("--step-minutes", type=int, default=60)
    demo.add_argument("--start", type=_instant, help="first instant (default Monday 2025-03-10 08:00 -03:00)")
    demo.add_argument("--log-file", type=Path, default=Path("build/sandbox/demo.log"))
    demo.add_argument(
        "--whatsapp-outage",
        type=int,
        metavar="DAY",
        help="the WhatsApp instance disconnects at 09:00 of that virtual day (0 = the first) and "
        "reconnects at 15:00: the breaker pauses WhatsApp outreach and calls instead",
    )

    chat = commands.add_parser("chat", help="chat on WhatsApp as a simulated customer of a running sandbox")
    chat.add_argument("phone")
    chat.add_argument("--url", default=DEFAULT_URL)
    chat.add_argument("--token", default="local-supervisor")

    upgrade = commands.add_parser(
        "upgrade", help="after deploying a new version: write what its indexes need into the stored cases"
    )
    upgrade.add_argument("--table-prefix", required=True, help="the stack's tablePrefix, e.g. cobranca")
    upgrade.add_argument(
        "--apply", action="store_true", help="write (default: a dry run that writes nothing)"
    )
    upgrade.add_argument(
        "--from-prefix", help="the earlier tablePrefix: copy its tables first (a stack moved to a new prefix)"
    )
    upgrade.add_argument("--cursor", help="resume where an interrupted run printed: STEP:CURSOR")
    upgrade.add_argument("--page", type=int, default=100, help="items read per Scan page (1-100)")

    args = parser.parse_args(argv)
    if args.command == "upgrade":
        return _upgrade(args)
    if args.command in ("local", "demo"):
        missing = [name for name in SANDBOX_MODULES if importlib.util.find_spec(name) is None]
        if missing:
            print(
                f"cobranca {args.command} needs the sandbox extra ({', '.join(missing)} not installed): "
                f"{INSTALL_SANDBOX}, or make demo",
                file=sys.stderr,
            )
            return 2
        Environment().isolate()  # before anything reads it (see infra.local.environment)
    if args.command == "local":
        return _local(args)
    if args.command == "demo":
        return _demo(args)
    return _chat(args)


def _instant(raw: str) -> datetime:
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {raw!r}") from None
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError("give a timezone offset, e.g. 2025-03-10T09:00-03:00")
    return at


# --------------------------------------------------------------------------------------------------


def _upgrade(args: argparse.Namespace) -> int:
    from shared.core.config import reset_settings
    from shared.data.base import bind
    from shared.engine.upgrade import Left, plan, run_page

    os.environ["COBRANCA_TABLE_PREFIX"] = args.table_prefix
    reset_settings()
    binding = bind()
    mode = "applying" if args.apply else "dry run (nothing written; --apply writes)"
    print(f"tables {binding.table_name('*')} in {binding.region}: {mode}", flush=True)
    steps = plan(args.from_prefix)
    first, _, cursor = (args.cursor or f"{steps[0]}:").rpartition(":")  # a cursor holds no ':'
    if first not in steps:
        print(f"--cursor names no step of this upgrade ({', '.join(steps)})", file=sys.stderr)
        return 2
    verb = "written" if args.apply else "to write"
    not_cases = 0
    for step in steps[steps.index(first) :]:
        read, fixed, left = 0, 0, Counter[str]()
        while True:
            page = run_page(
                step, cursor or None, apply=args.apply, from_prefix=args.from_prefix, limit=args.page
            )
            if page.missing:
                print(f"{step}: no such table in the earlier stack", flush=True)
                break
            read, fixed = read + page.scanned, fixed + page.fixed
            left.update(page.left)
            for target_id in page.not_cases:
                print(f"  not a case of this version, left where it is: target {target_id}")
            resume = "" if page.cursor is None else f"; resume with --cursor {step}:{page.cursor}"
            kept = ", ".join(f"{count} {reason}" for reason, count in left.items()) or "none"
            print(f"{step}: read {read}, {verb} {fixed}, left {kept}{resume}", flush=True)
            if page.cursor is None:
                break
            cursor = page.cursor
        cursor = None
        not_cases += left[Left.NOT_A_CASE]
    print(f"done; {not_cases} items of the targets table are not cases of this version", flush=True)
    return 1 if not_cases else 0


def _demo(args: argparse.Namespace) -> int:
    from infra.local.demo import DEFAULT_CUSTOMERS, DEFAULT_START, DemoOptions, run

    return run(
        DemoOptions(
            customers=DEFAULT_CUSTOMERS if args.customers is None else args.customers,
            days=args.days,
            step_minutes=args.step_minutes,
            start=args.start or DEFAULT_START,
            log_path=args.log_file,
            whatsapp_outage=args.whatsapp_outage,
        )
    )


def _local(args: argparse.Namespace) -> int:
    from infra.local.sandbox import Sandbox, SandboxOptions, log_file

    stream = None if str(args.log_file) == "-" else log_file(args.log_file)
    sandbox = Sandbox(
        SandboxOptions(
            port=args.port, clock=args.clock, flowing_clock=not args.frozen_clock, log_stream=stream
        )
    )
    console = sys.stdout  # the sandbox sends stdout (Powertools' metrics) to the log file
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with sandbox:
        print(sandbox.banner(), file=console, flush=True)
        if stream is not None:
            print(f"  logs       {args.log_file}", file=console, flush=True)
        if args.seed_demo:
            _seed(sandbox, console)
        print(
            f"Cobrança local ready at {sandbox.url} — dashboard {sandbox.url}/voice/monitor, "
            f"API docs {sandbox.url}/api/docs",
            file=console,
            flush=True,
        )
        while not stop.is_set():
            stop.wait(0.5)
        print("stopping…", file=console, flush=True)
    if stream is not None:
        stream.close()
    return 0


def _seed(sandbox: Any, console: Any) -> None:
    """A campaign of simulated customers plus one for you, imported and activated through the API."""
    from infra.local.customers import ZONE
    from infra.local.demo import _set_up

    today = sandbox.clock.now().astimezone(ZONE).date()
    customers = sandbox.customers.populate(SEED_CUSTOMERS, today=today)
    you = sandbox.customers.add_manual(YOU["name"], YOU["phone"], YOU["document"], Decimal(YOU["debt"]))
    with httpx.Client(base_url=sandbox.url, timeout=30) as api:
        campaign = _set_up(api, sandbox, [*customers, you], console)
    print(
        f"  seeded campaign {campaign}: {len(customers)} simulated customers and you",
        file=console,
        flush=True,
    )
    print(
        f"  chat as {you.name}: cobranca chat {you.phone} --url {sandbox.url}  (CPF {you.formatted_document})",
        file=console,
        flush=True,
    )


# --------------------------------------------------------------------------------------------------


def _chat(args: argparse.Namespace) -> int:
    """A WhatsApp chat as the customer at PHONE: you type, the simulated Evolution API posts the
    webhook, Lia's replies are printed. `/hora`, `/avancar MIN`, `/sair`."""
    headers = {"Authorization": f"Bearer {args.token}"}
    with httpx.Client(base_url=args.url, headers=headers, timeout=70) as api:
        try:
            seen = _print_new(api, args.phone, 0)
        except httpx.HTTPError as exc:
            print(f"no sandbox at {args.url}: {exc}", file=sys.stderr)
            return 1
        print("Você é o cliente. Escreva e tecle Enter (/avancar 60, /hora, /sair).")
        while True:
            try:
                text = input("você> ").strip()
            except (EOFError, KeyboardInterrupt):
                print()
                return 0
            if text in ("/sair", "/exit", "/quit"):
                return 0
            if text == "/hora":
                print(f"   relógio: {api.get('/api/dev/clock').json()['local']}")
                continue
            if text.startswith("/avancar"):
                minutes = int(text.split()[1]) if len(text.split()) > 1 else 60
                moved = api.post("/api/dev/clock", json={"advance_minutes": minutes, "wait": True})
                print(f"   relógio: {moved.json().get('local')}")
            elif text:
                sent = api.post(f"/api/dev/whatsapp/{args.phone}", json={"text": text})
                if sent.status_code >= 400:
                    print(f"   ! {sent.status_code}: {sent.json().get('detail')}")
                    continue
            seen = _wait_for_replies(api, args.phone, seen)


def _wait_for_replies(api: httpx.Client, phone: str, seen: int, seconds: float = 8.0) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        now_seen = _print_new(api, phone, seen)
        if now_seen > seen:
            # Lia may send more than one message: give her a moment for the rest.
            time.sleep(0.4)
            return _print_new(api, phone, now_seen)
        time.sleep(0.15)
    return seen


def _print_new(api: httpx.Client, phone: str, seen: int) -> int:
    response = api.get(f"/api/dev/whatsapp/{phone}", params={"after": seen})
    response.raise_for_status()
    for message in response.json()["messages"]:
        print("Lia> " + message["text"].replace("\n", "\n     "))
        seen = message["index"] + 1
    return seen


if __name__ == "__main__":
    sys.exit(main())
