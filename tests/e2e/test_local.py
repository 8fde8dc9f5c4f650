"""`cobranca local`: the whole system on one port — the API, the dashboard, the dev clock, chatting as
a simulated customer — and any service whose URL variable is set is used instead of its simulator."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal

import httpx

from infra.local.sandbox import UntilReady
from infra.local.simulators.crm import CrmSimulator, SimInvoice
from infra.local.simulators.server import serve_in_thread
from tests.e2e.conftest import REPO, eventually, sandbox_env, spawn_local

ADMIN = {"Authorization": "Bearer local-admin"}
SUPERVISOR = {"Authorization": "Bearer local-supervisor"}
MONDAY_9AM = "2025-03-10T09:00:00-03:00"
CPF = "11144477735"


def test_an_external_crm_is_used_instead_of_the_simulator(local_sandbox) -> None:
    external = CrmSimulator(api_key="external-crm-key")
    external.add_customer(CPF, "João Silva", [SimInvoice("FAT-001", Decimal("179.80"), date(2025, 2, 10))])
    server = serve_in_thread(external.app)
    try:
        sandbox = local_sandbox(
            "--frozen-clock", "--clock", MONDAY_9AM, CRM_API_URL=server.url, CRM_API_KEY="external-crm-key"
        )
        assert f"external: {server.url}" in sandbox.output
        assert "evolution  simulated at http://127.0.0.1:" in sandbox.output
        with httpx.Client(base_url=sandbox.url, timeout=30) as api:
            assert api.get("/api/dev/customers", headers=SUPERVISOR).status_code == 409  # no simulated CRM
            campaign = api.post(
                "/api/voice/campaigns",
                headers=ADMIN,
                json={"name": "Externo", "contactMethod": "whatsapp_primary"},
            ).json()["id"]
            csv = "nome;telefone;cpf;valor;fatura\nJoão Silva;(11) 99999-8888;111.444.777-35;R$ 179,80;FAT-001\n"
            imported = api.post(
                f"/api/voice/campaigns/{campaign}/targets/import",
                headers=ADMIN,
                files={"file": ("clientes.csv", csv.encode(), "text/csv")},
            )
            assert imported.json()["imported"] == 1, imported.text
            assert (
                api.post(f"/api/voice/campaigns/{campaign}/activate", headers=SUPERVISOR).status_code == 200
            )

            eventually(lambda: CPF in external.queries, timeout=60)  # the pre-send guard asked our CRM

            # A large file goes straight to S3 through a presigned PUT; the upload's ObjectCreated
            # event runs the ingest worker.
            draft = api.post(
                "/api/voice/campaigns", headers=ADMIN, json={"name": "Grande", "contactMethod": "voice"}
            ).json()["id"]
            upload = api.post(
                f"/api/voice/campaigns/{draft}/targets/upload-url",
                headers=ADMIN,
                json={"filename": "grande.csv", "contentType": "text/csv"},
            ).json()
            put = httpx.put(upload["uploadUrl"], content=csv.encode(), headers=upload["headers"], timeout=30)
            assert put.status_code == 200, put.text

            def imported_by_the_worker() -> bool:
                job = api.get(f"/api/voice/imports/{upload['importId']}", headers=ADMIN)
                return job.status_code == 200 and job.json()["status"] == "completed"

            eventually(imported_by_the_worker, timeout=60)
            assert api.get(f"/api/voice/imports/{upload['importId']}", headers=ADMIN).json()["imported"] == 1
    finally:
        server.stop()


def test_a_campaign_syncs_its_targets_from_the_simulated_hubsoft(local_sandbox) -> None:
    sandbox = local_sandbox("--seed-demo", "--frozen-clock", "--clock", MONDAY_9AM, BILLING_SYSTEM="hubsoft")
    assert "hubsoft    simulated at http://127.0.0.1:" in sandbox.output
    with httpx.Client(base_url=sandbox.url, timeout=70, headers=ADMIN) as api:
        owing = [c for c in api.get("/api/dev/customers").json() if Decimal(c["openTotal"]) > 0]
        campaign = api.post(
            "/api/voice/campaigns", json={"name": "Do Hubsoft", "contactMethod": "whatsapp_primary"}
        ).json()["id"]

        # Hubsoft lists 30 days of due dates a page: the API reads the first, the ingest worker
        # (woken by the hand-off landing in S3) the rest.
        started = api.post(f"/api/voice/campaigns/{campaign}/targets/sync", json={})
        assert started.status_code == 202, started.text

        def job() -> dict[str, object]:
            return dict(api.get(f"/api/voice/imports/{started.json()['id']}").json())

        eventually(lambda: job()["status"] == "completed", timeout=90)
        assert (job()["customersCreated"], job()["duplicates"], job()["rejected"]) == (len(owing), 0, 0)
        targets = api.get(f"/api/voice/campaigns/{campaign}/targets", params={"limit": 100}).json()
        assert sorted(t["clientName"] for t in targets) == sorted(c["name"] for c in owing)


def test_chat_as_the_seeded_customer_and_move_the_clock(local_sandbox) -> None:
    sandbox = local_sandbox("--seed-demo", "--frozen-clock", "--clock", MONDAY_9AM)
    you = "5511987650000"
    with httpx.Client(base_url=sandbox.url, timeout=70, headers=SUPERVISOR) as api:
        assert api.get("/voice/monitor").status_code == 200
        assert api.get("/api/dev/clock").json()["local"].startswith("2025-03-10T09:00:00")
        listed = {c["phone"]: c for c in api.get("/api/dev/customers").json()}
        assert listed[you]["persona"] is None and listed[you]["document"] == "52998224725"
        assert sum(1 for c in listed.values() if c["persona"]) == 18  # the seeded personas
        added = api.post(
            "/api/dev/customers",
            json={
                "name": "Bia Nova",
                "phone": "(21) 98888-1234",
                "document": "111.444.777-35",
                "debt": "50.00",
            },
        )
        assert added.status_code == 201 and added.json()["phone"] == "5521988881234"
        eventually(lambda: api.get(f"/api/dev/whatsapp/{you}").json()["messages"] != [], timeout=60)

        chat = subprocess.run(
            [sys.executable, "-m", "infra.local.cli", "chat", you, "--url", sandbox.url],
            input="Sou eu sim, meu CPF é 529.982.247-25\n/sair\n",
            cwd=REPO,
            env=sandbox_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert chat.returncode == 0, chat.stderr
        assert "Lia> Olá! 👋 Aqui é a Lia" in chat.stdout  # the campaign's first message
        assert "R$ 179,80" in chat.stdout  # identity confirmed: the open invoice is quoted

        moved = api.post("/api/dev/clock", json={"advance_minutes": 60, "wait": True})
        assert moved.status_code == 200
        assert moved.json()["local"].startswith("2025-03-10T10:00:00")
        assert moved.json()["settled"] is True


def test_the_api_answers_503_until_everything_is_provisioned_then_200(tmp_path) -> None:
    with socket.socket() as probe:  # a free port, known before the sandbox prints anything
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    sandbox = spawn_local(tmp_path / "l.log", port=port)
    process = sandbox.process
    early: list[httpx.Response] = []
    try:
        with httpx.Client(base_url=url, headers=ADMIN, timeout=10) as api:
            while not sandbox.url:
                try:
                    early.append(api.get("/api/voice/campaigns"))
                except httpx.TransportError:  # not listening yet
                    pass
                if process.poll() is not None:
                    raise AssertionError("cobranca local exited:\n" + sandbox.output)
                time.sleep(0.01)
            after = api.get("/api/voice/campaigns")
    finally:
        process.terminate()
        process.wait(timeout=20)

    assert sandbox.url == url
    assert f"Cobrança local ready at {url} — dashboard {url}/voice/monitor" in sandbox.output
    assert early, "the API never answered before the ready line"
    assert {r.status_code for r in early} <= {503, 200}  # 200: answered after the gate opened
    starting = [r for r in early if r.status_code == 503]
    assert starting, f"no 503 while starting: {[r.status_code for r in early]}"
    assert starting[0].json() == {"detail": UntilReady.DETAIL}
    assert starting[0].headers["Retry-After"] == "1"
    assert after.status_code == 200 and after.json() == []
