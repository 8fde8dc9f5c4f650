"""The whole system in one process: local AWS, the outside services (simulated unless their URL
variable points elsewhere), the API with the dev routes, and the runtime that feeds the real handlers.
With BILLING_SYSTEM set to an ERP (`ixc`, `sgp`, `hubsoft`: `ERP_SIMULATIONS`), that ERP's simulator
answers as the billing system, seeded with the same simulated customers as the generic CRM's.

Everything runs in this process, so every handler shares the virtual clock (`shared.core.clock`) and the
environment this module writes. `Sandbox.start()` wires it in this order: clock → AWS endpoint →
simulators → API → settings and caches → tables, queues, bucket, schedule group → runtime. The API
listens from the start (its URL is part of the settings) but answers 503 until the runtime is up.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final, Protocol
from zoneinfo import ZoneInfo

from infra.local.aws import LocalAws, Provisioned, provision
from infra.local.clock import SandboxClock
from infra.local.customers import Customers
from infra.local.environment import REGION, Environment
from infra.local.runtime import LocalRuntime
from infra.local.runtime import log as sandbox_log
from infra.local.simulators.crm import CrmSimulator, SimInvoice
from infra.local.simulators.evolution import EvolutionSimulator
from infra.local.simulators.hubsoft import HubsoftSimulator
from infra.local.simulators.ixc import IxcSimulator
from infra.local.simulators.server import RunningServer, serve_in_thread
from infra.local.simulators.sgp import SgpSimulator
from infra.local.simulators.twilio import TwilioSimulator
from shared.core.observability import install_log_masking

SAO_PAULO: Final = ZoneInfo("America/Sao_Paulo")
LOCAL_TOKENS: Final = {"admin": "local-admin", "supervisor": "local-supervisor", "viewer": "local-viewer"}


def cloud_templates(with_cnpj: bool) -> dict[str, tuple[str, str, str]]:
    """With EVOLUTION_INTEGRATION=cloud, the simulated instance's approved templates, by outreach step:
    (name, language, body); the body's parameters are {{1}} the name, {{2}} the creditor, {{3}} its CNPJ
    (when configured: the engine leaves an unconfigured CNPJ out)."""
    creditor = "{{2}} (CNPJ {{3}})" if with_cnpj else "{{2}}"
    stop = "Se preferir não receber mais nossas mensagens, é só responder PARAR."
    return {
        "first_contact": (
            "cobranca_primeiro_contato",
            "pt_BR",
            f"Olá! Aqui é a assistente virtual da {creditor}. Falo com {{{{1}}}}? Preciso tratar de um "
            f"assunto financeiro da sua conta; só passo detalhes depois que você confirmar o documento. {stop}",
        ),
        "follow_up": (
            "cobranca_retomada",
            "pt_BR",
            f"Olá, {{{{1}}}}! Aqui é novamente a assistente virtual da {creditor}. Podemos retomar o "
            f"assunto financeiro da sua conta? {stop}",
        ),
        "after_broken_promise": (
            "cobranca_promessa",
            "pt_BR",
            f"Olá, {{{{1}}}}! Aqui é a assistente virtual da {creditor}. Não identificamos o pagamento "
            f"combinado; posso ajudar a combinar uma nova data? {stop}",
        ),
        "last_notice": (
            "cobranca_ultimo_aviso",
            "pt_BR",
            f"Olá, {{{{1}}}}. Aqui é a assistente virtual da {creditor}. Este é nosso último contato por "
            f"este canal sobre um assunto financeiro da sua conta. {stop}",
        ),
    }


class ErpSimulator(Protocol):
    """What the sandbox needs of an ERP simulator: its app, and the simulated customers' story (seeded
    from the same invoices as the CRM simulator's, paid when they pay)."""

    app: Any

    def add_debtor(
        self, document: str, name: str, invoices: list[SimInvoice], *, phones: tuple[str, ...] = ()
    ) -> object: ...

    def pay_all(self, document: str) -> None: ...

    def pay_oldest(self, document: str) -> None: ...

    def invoice_numbers(self, document: str) -> list[str]: ...


# `credential(variable, default)`: the variable's value; unset → `default`, or a random secret.
Credential = Callable[[str, str | None], str]


@dataclass(frozen=True)
class ErpSimulation:
    """How the sandbox simulates one ERP: the URL variable that, when set, points at a real one
    instead, and the simulator built with the credentials the adapter will send."""

    url_variable: str
    build: Callable[[Credential], ErpSimulator]


# The ERPs the sandbox can simulate, by BILLING_SYSTEM; adding one is one line here and a simulator.
ERP_SIMULATIONS: Final[dict[str, ErpSimulation]] = {
    "ixc": ErpSimulation(
        "IXC_API_URL",
        lambda credential: IxcSimulator(credential("IXC_API_USER", "7"), credential("IXC_API_TOKEN", None)),
    ),
    "sgp": ErpSimulation(
        "SGP_API_URL",
        lambda credential: SgpSimulator(credential("SGP_TOKEN", None), credential("SGP_APP", "Cobranca")),
    ),
    "hubsoft": ErpSimulation(
        "HUBSOFT_API_URL",
        lambda credential: HubsoftSimulator(
            credential("HUBSOFT_CLIENT_ID", "cobranca-sandbox"),
            credential("HUBSOFT_CLIENT_SECRET", None),
            credential("HUBSOFT_USERNAME", "cobranca@provedor.example"),
            credential("HUBSOFT_PASSWORD", None),
            # The sandbox ISP's rule set allows a trust unlock up to a week (Hubsoft's maximum is the
            # ISP's setting): long enough for the demo's promises, which fall a few days out.
            max_unlock_days=7,
        ),
    ),
}
# The URL variable of each outside service: set → that service is used, unset → its simulator (an ERP's
# only when BILLING_SYSTEM names it).
SERVICE_URLS: Final = {
    "crm": "CRM_API_URL",
    "evolution": "EVOLUTION_API_URL",
    "twilio": "TWILIO_API_BASE_URL",
    "openai": "OPENAI_BASE_URL",
} | {system: simulation.url_variable for system, simulation in ERP_SIMULATIONS.items()}


@dataclass
class SandboxOptions:
    port: int = 8000
    host: str = "127.0.0.1"
    clock: datetime | None = None  # None: now
    flowing_clock: bool = True  # False: time stands still between jumps (demo, tests)
    log_stream: IO[str] | None = None  # where the workers' JSON logs go (None: stdout)
    log_level: str = "INFO"
    aws_in_child: bool = True  # moto in its own process: a core of its own (see LocalAws)


@dataclass
class Simulators:
    """The simulators this sandbox started (None: that service is external)."""

    crm: CrmSimulator | None = None
    erp: ErpSimulator | None = None  # the ERP BILLING_SYSTEM names, when it is an ERP and simulated
    evolution: EvolutionSimulator | None = None
    twilio: TwilioSimulator | None = None
    openai: Any | None = None  # OpenAISimulator
    realtime: Any | None = None  # RealtimeSimulator (the calls' model)
    servers: dict[str, RunningServer] = field(default_factory=dict)

    def billing(self) -> str:
        """ "ixc, simulated at http://…" / "generic (the CRM), external: https://…": who answers the engine."""
        system = os.environ.get("BILLING_SYSTEM", "generic").strip().lower() or "generic"
        where = self.describe().get("crm" if system == "generic" else system, "not configured")
        return f"{system}, {where}"

    def describe(self) -> dict[str, str]:
        """`{"crm": "simulated at http://…" | "external: https://…", ...}` for the services in use."""
        return {
            name: (
                f"simulated at {self.servers[name].url}"
                if name in self.servers
                else f"external: {os.environ[var]}"
            )
            for name, var in SERVICE_URLS.items()
            if name in self.servers or os.environ.get(var)
        }


class Sandbox:
    """`cobranca local`: start it, use it over HTTP, stop it."""

    def __init__(self, options: SandboxOptions | None = None) -> None:
        self.options = options or SandboxOptions()
        self.clock = SandboxClock(self.options.clock or datetime.now(UTC), flowing=self.options.flowing_clock)
        self.simulators = Simulators()
        self.aws: LocalAws | None = None
        self.provisioned: Provisioned | None = None
        self._runtime: LocalRuntime | None = None
        self._customers: Customers | None = None
        self.api: RunningServer | None = None
        self.url = ""
        self.bridge_url = ""
        self._env = Environment()
        self._previous_clock: Any = None
        self._on_stop: list[Callable[[], None]] = []
        self._saved_stdout: IO[str] | None = None
        self.ready = threading.Event()  # set once everything is provisioned and running

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        install_log_masking()  # this process runs every handler, the API and the bridge
        self._env.isolate()
        self._set("POWERTOOLS_LOG_LEVEL", os.environ.get("POWERTOOLS_LOG_LEVEL") or self.options.log_level)
        from shared.core import clock as shared_clock

        self._previous_clock = shared_clock.set_clock(self.clock)
        self._on_stop.append(_route_logs(self.options.log_stream, self.options.log_level))
        if self.options.log_stream is not None:
            # Powertools prints its metrics (EMF) to stdout: into the log with everything else.
            self._saved_stdout, sys.stdout = sys.stdout, self.options.log_stream
        warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
        self.aws = LocalAws(clock=self.clock, region=REGION, in_child=self.options.aws_in_child).start()
        self._set("AWS_ENDPOINT_URL", self.aws.url)
        self._start_simulators()
        self._start_api()
        _reset_process_caches()
        from shared.data import bind

        bind()
        self.provisioned = provision(self.aws, prefix=os.environ["COBRANCA_TABLE_PREFIX"])
        for name, value in self.provisioned.environment().items():
            self._set(name, value)
        _reset_process_caches()
        self._use_simulated_model()
        self._customers = Customers(self.simulators)
        self._runtime = LocalRuntime(self.aws, self.provisioned).start()
        self.clock.on_jump(self.runtime.clock_jumped)
        self.clock.on_jump(self.customers.wake)
        self.customers.start(ready=self.runtime.idle)
        self.ready.set()

    @property
    def runtime(self) -> LocalRuntime:
        assert self._runtime is not None, "start() first"
        return self._runtime

    @property
    def customers(self) -> Customers:
        assert self._customers is not None, "start() first"
        return self._customers

    def stop(self) -> None:
        self.ready.clear()
        if self._runtime is not None:
            self._runtime.stop()
            self._runtime = None
        if self._customers is not None:
            self._customers.stop()
            self._customers = None
        for stop in reversed(self._on_stop):
            stop()
        self._on_stop.clear()
        if self.api is not None:
            self.api.stop()
            self.api = None
        for server in self.simulators.servers.values():
            server.stop()
        self.simulators.servers.clear()
        if self.aws is not None:
            self.aws.stop()
            self.aws = None
        if self._previous_clock is not None:
            from shared.core import clock as shared_clock

            shared_clock.set_clock(self._previous_clock)
            self._previous_clock = None
        if self._saved_stdout is not None:
            sys.stdout, self._saved_stdout = self._saved_stdout, None
        self._env.restore()
        _reset_process_caches()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- pieces -----------------------------------------------------------------------------------

    def _start_simulators(self) -> None:
        sims = self.simulators
        if not os.environ.get("CRM_API_URL"):
            sims.crm = CrmSimulator(api_key=self._secret("CRM_API_KEY"))
            self._serve("crm", sims.crm.app, "CRM_API_URL")
        self._start_erp_simulator()
        if not os.environ.get("EVOLUTION_API_URL"):
            self._default("EVOLUTION_API_INSTANCE", "cobranca")
            sims.evolution = EvolutionSimulator(
                api_key=self._secret("EVOLUTION_API_KEY"), instance=os.environ["EVOLUTION_API_INSTANCE"]
            )
            if os.environ.get("EVOLUTION_INTEGRATION") == "cloud":
                for name, language, body in cloud_templates(bool(os.environ.get("COMPANY_CNPJ"))).values():
                    sims.evolution.approve_template(name, language, body)
            self._serve("evolution", sims.evolution.app, "EVOLUTION_API_URL")
        if not os.environ.get("TWILIO_API_BASE_URL"):
            self._default("TWILIO_ACCOUNT_SID", "AC" + "5a" * 16)
            sims.twilio = TwilioSimulator(
                account_sid=os.environ["TWILIO_ACCOUNT_SID"], auth_token=self._secret("TWILIO_AUTH_TOKEN")
            )
            self._default("TWILIO_PHONE_NUMBER", "+551140040000")
            self._serve("twilio", sims.twilio.app, "TWILIO_API_BASE_URL")
        if not os.environ.get("OPENAI_BASE_URL"):
            from infra.local.simulators.openai import OpenAISimulator

            sims.openai = OpenAISimulator(api_key=self._secret("OPENAI_API_KEY"))
            server = self._serve("openai", sims.openai.app, None)
            self._set("OPENAI_BASE_URL", server.url + "/v1")
        if not os.environ.get("OPENAI_REALTIME_URL"):
            from infra.local.simulators.realtime import RealtimeSimulator

            realtime = RealtimeSimulator(api_key=self._secret("OPENAI_API_KEY")).start()
            sims.realtime = realtime
            self._on_stop.append(realtime.stop)
            self._set("OPENAI_REALTIME_URL", realtime.url)
        self._default("EVOLUTION_WEBHOOK_TOKEN", secrets.token_urlsafe(24))

    def _start_erp_simulator(self) -> None:
        """With BILLING_SYSTEM naming an ERP whose URL variable is unset: its simulator, credentials
        invented where they are not set."""
        system = os.environ.get("BILLING_SYSTEM", "generic").strip().lower()
        simulation = ERP_SIMULATIONS.get(system)
        if simulation is None or os.environ.get(simulation.url_variable):
            return
        simulator = simulation.build(self._credential)
        self.simulators.erp = simulator
        self._serve(system, simulator.app, simulation.url_variable)

    def _serve(self, name: str, app: Any, variable: str | None) -> RunningServer:
        server = serve_in_thread(app, host="127.0.0.1")
        self.simulators.servers[name] = server
        if variable:
            self._set(variable, server.url)
        return server

    def _start_api(self) -> None:
        from functions.api.app import create_app
        from infra.local.dev_routes import dev_router

        self._default(
            "COBRANCA_API_TOKENS", ",".join(f"{role}:{token}" for role, token in LOCAL_TOKENS.items())
        )
        app = create_app()
        app.include_router(dev_router(self))
        self.api = serve_in_thread(
            UntilReady(app, self.ready), host=self.options.host, port=self.options.port
        )
        self.url = self.api.url
        self._default("WEBHOOK_BASE_URL", self.url)
        self._start_voice_bridge(int(self.url.rsplit(":", 1)[1]))
        if self.simulators.evolution is not None:
            self.simulators.evolution.webhook_url = (
                os.environ["WEBHOOK_BASE_URL"].rstrip("/") + "/api/whatsapp/webhook"
            )
            self.simulators.evolution.webhook_token = os.environ["EVOLUTION_WEBHOOK_TOKEN"]

    def _start_voice_bridge(self, api_port: int) -> None:
        """The voice bridge (Twilio Media Streams ⇄ OpenAI Realtime) on the API's port + 1, the URL
        the TwiML of answered calls points to."""
        if os.environ.get("VOICE_BRIDGE_WS_URL"):
            self.bridge_url = os.environ["VOICE_BRIDGE_WS_URL"] + " (external)"
            return
        try:
            from containers.voice_bridge.app import Bridge
            from containers.voice_bridge.app import serve_in_thread as serve_bridge
        except ImportError as exc:  # a checkout without the bridge: everything else still runs
            self.bridge_url = f"not available ({exc})"
            return
        try:
            running = serve_bridge(
                Bridge(), host=self.options.host, port=api_port + 1 if self.options.port else 0
            )
        except (OSError, RuntimeError):  # port + 1 is taken: any free port
            running = serve_bridge(Bridge(), host=self.options.host, port=0)
        self._on_stop.append(lambda: running.shutdown(wait=True, timeout=10))
        self._set("VOICE_BRIDGE_WS_URL", running.ws_url)
        self._set("VOICE_BRIDGE_PREPARE_URL", running.url + "/prepare")
        self.bridge_url = running.ws_url

    def _use_simulated_model(self) -> None:
        """With the model stand-in (it answers 503), one quick try then the fallback dialogue: the
        SDK's retry would only wait for the same 503."""
        if self.simulators.openai is None:
            return
        from openai import OpenAI

        from shared.adapters import clients

        clients.install(
            openai=OpenAI(
                api_key=os.environ["OPENAI_API_KEY"],
                base_url=os.environ["OPENAI_BASE_URL"],
                max_retries=0,
                timeout=5,
            )
        )

    # --- environment ------------------------------------------------------------------------------

    def _set(self, name: str, value: str) -> None:
        self._env.set(name, value)

    def _default(self, name: str, value: str) -> None:
        self._env.default(name, value)

    def _secret(self, name: str) -> str:
        return self._credential(name, None)

    def _credential(self, name: str, default: str | None) -> str:
        self._default(name, default if default is not None else "sandbox-" + secrets.token_hex(8))
        return os.environ[name]

    # --- for the CLI, the dev routes and the demo -------------------------------------------------

    def headers(self, role: str = "admin") -> dict[str, str]:
        """Bearer header for one of the local roles."""
        return {"Authorization": f"Bearer {self.token(role)}"}

    def token(self, role: str) -> str:
        from functions.api.auth import Role, parse_token_table

        for found, token in parse_token_table(os.environ.get("COBRANCA_API_TOKENS", "")):
            if found is Role[role.upper()]:
                return token
        raise KeyError(f"COBRANCA_API_TOKENS has no {role} token")

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until the runtime and the simulated customers have nothing left to do."""
        return self.runtime.settle(timeout=timeout, also_idle=self.customers.idle)

    def banner(self) -> str:
        lines = [
            f"Cobrança sandbox — API {self.url}  (docs {self.url}/api/docs, dashboard {self.url}/voice/monitor)",
            f"  clock      {self.clock.now().astimezone(SAO_PAULO).isoformat()} "
            f"({'flowing' if self.clock.flowing else 'frozen'}); "
            f'advance: POST {self.url}/api/dev/clock {{"advance_minutes": 60}}',
            f"  AWS        {self.aws.url if self.aws else '-'} (moto, single-threaded, {'own process' if self.options.aws_in_child else 'in process'})",
            f"  bridge     {self.bridge_url}",
        ]
        lines += [f"  {name:<10} {where}" for name, where in self.simulators.describe().items()]
        lines.append("  tokens     " + ", ".join(f"{role}: {self.token(role)}" for role in LOCAL_TOKENS))
        return "\n".join(lines)


class UntilReady:
    """ASGI wrapper: every HTTP request is answered 503, with a JSON `detail` and `Retry-After`, until
    `ready` is set — the tables, queues and bucket do not exist before, so the API would fail."""

    DETAIL: Final = (
        "Cobrança local is starting: creating its tables, queues and bucket. Try again in a moment."
    )

    def __init__(self, app: Any, ready: threading.Event) -> None:
        self.app = app
        self.ready = ready

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self.ready.is_set():
            from starlette.responses import JSONResponse

            response = JSONResponse({"detail": self.DETAIL}, status_code=503, headers={"Retry-After": "1"})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _reset_process_caches() -> None:
    """Forget every settings-derived client cached in the process (the environment just changed)."""
    from shared.adapters import clients, promise_schedules, queues, storage
    from shared.core.config import reset_settings

    reset_settings()
    for reset in (
        queues.reset,
        storage.reset,
        promise_schedules.reset,
        clients.reset,
    ):
        reset()


def _route_logs(stream: IO[str] | None, level: str) -> Callable[[], None]:
    """Send the workers' and the runtime's JSON logs to `stream` (the demo's log file); returns the
    undo (their previous streams)."""
    from shared.core.observability import logger

    previous: list[tuple[logging.StreamHandler[Any], Any]] = []
    for powertools in (logger, sandbox_log):
        powertools.setLevel(level)
        for handler in logging.getLogger(powertools.name).handlers:
            if stream is not None and isinstance(handler, logging.StreamHandler):
                previous.append((handler, handler.setStream(stream)))

    def restore() -> None:
        for handler, old in previous:
            handler.setStream(old)

    return restore


def log_file(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a", encoding="utf-8", buffering=1)
