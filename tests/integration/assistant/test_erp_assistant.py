"""The WhatsApp assistant on the ISP's ERP (the IXC simulator on loopback, BILLING_SYSTEM=ixc): a
promise of a `trustUnlock` campaign unlocks the customer's suspended contract and says so only after
IXC confirmed; a second unlock in the unpaid cycle is refused (IXC 113), explained, and the promise
still stands; the Pix offered is IXC's own, the static BR Code only when IXC has none."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from pydantic import SecretStr

from infra.local.simulators.ixc import IxcSimulator
from infra.local.simulators.openai import call, text, tool_calls
from infra.local.simulators.server import serve_in_thread
from shared.adapters import clients
from shared.adapters.crm import CrmUnavailable
from shared.adapters.erp.ixc import IxcBilling
from shared.core.config import IxcConfig
from shared.data import campaigns, promises
from shared.domain.models import Campaign, PromiseStatus, UnlockStatus
from tests.integration.assistant.assistant_world import DOCUMENT, World

# The world's clock: Monday 10/03/2025 in São Paulo; IXC's unlock lasts `unlock_days` (3) from today.
UNLOCKED_UNTIL = date(2025, 3, 13)


@pytest.fixture
def ixc(world: World) -> Iterator[IxcSimulator]:
    """IXC on loopback, installed as the process's billing system."""
    simulator = IxcSimulator(timeout_seconds=0.3)
    server = serve_in_thread(simulator.app)
    clients.install(
        crm=IxcBilling(IxcConfig(server.url, simulator.user_id, SecretStr(simulator.token)), timeout=5.0)
    )
    yield simulator
    server.stop()


def campaign_with(make_campaign, *, trust_unlock: bool) -> Campaign:
    return campaigns.create(make_campaign(trust_unlock=trust_unlock))


@pytest.fixture
def maria_on_ixc(world: World, ixc: IxcSimulator, make_campaign, make_target, make_conversation):
    """Maria, a target of a trustUnlock campaign; her two invoices on one blocked IXC contract."""
    campaign = campaign_with(make_campaign, trust_unlock=True)
    target, _ = world.debtor(
        make_target=make_target, make_conversation=make_conversation, campaign_id=campaign.id
    )
    customer = ixc.add_debtor(DOCUMENT, "Maria Silva", world.crm.customers[DOCUMENT].invoices)
    [contract] = [
        row["id"] for row in ixc.tables["cliente_contrato"].values() if row["id_cliente"] == customer
    ]
    return target, contract


def promise_call(day: str = "20/03/2025") -> dict:
    return call(
        "registrar_promessa_pagamento",
        cpf_cnpj=DOCUMENT,
        data_prevista_pagamento=day,
        valor_prometido=179.8,
        metodo_pagamento="pix",
        observacoes=None,
    )


def test_a_promise_of_a_trust_unlock_campaign_unlocks_the_contract_once_and_records_it(
    world: World, ixc: IxcSimulator, maria_on_ixc
):
    _, contract = maria_on_ixc
    world.model.script(
        tool_calls(promise_call()),
        text("Pronto, sua internet foi liberada até dia 13!"),
    )

    world.turn("529.982.247-25, pago dia 20")

    assert [request.body for request in ixc.calls_to("desbloqueio_confianca")] == [{"id": contract}]
    assert ixc.tables["cliente_contrato"][contract]["status_internet"] == "A"
    [promise] = promises.active_for_document(DOCUMENT, world.clock.now())
    assert promise.unlock_status is UnlockStatus.UNLOCKED and promise.unlock_until == UNLOCKED_UNTIL
    assert promise.unlock_code is None and promise.unlock_reason is None
    [result] = world.model.tool_results()
    assert result["desbloqueio"]["status"] == "unlocked" and result["desbloqueio"]["ate"] == "2025-03-13"
    assert "CONFIRMOU" in result["desbloqueio"]["mensagem"]
    assert "pronto, sua internet foi liberada até dia 13/03" in result["desbloqueio"]["mensagem"]


def test_a_second_unlock_in_the_unpaid_cycle_is_refused_113_explained_and_the_promise_stands(
    world: World, ixc: IxcSimulator, maria_on_ixc
):
    _, contract = maria_on_ixc
    world.model.script(tool_calls(promise_call()), text("Pronto, sua internet foi liberada!"))
    world.turn("529.982.247-25, pago dia 20")
    first = promises.active_for_document(DOCUMENT, world.clock.now())[0]
    ixc.block(contract)  # the unlock period ended unpaid: the automatic block is back
    world.model.script(
        tool_calls(promise_call("25/03/2025")),
        text("O desbloqueio já foi usado neste ciclo, mas sua promessa está registrada."),
    )

    world.turn("não consegui, posso pagar dia 25?")

    assert len(ixc.calls_to("desbloqueio_confianca")) == 2
    assert ixc.tables["cliente_contrato"][contract]["status_internet"] == "CA"  # still blocked
    [promise] = promises.active_for_document(DOCUMENT, world.clock.now())
    assert promise.due_date == date(2025, 3, 25) and promise.status is PromiseStatus.PENDING
    assert promise.replaces_id == first.id
    assert promise.unlock_status is UnlockStatus.REFUSED and promise.unlock_code == "113"
    assert promise.unlock_reason is not None and "já foi usado neste ciclo" in promise.unlock_reason
    refused = world.model.tool_results()[-1]
    assert refused["sucesso"] is True
    assert refused["desbloqueio"]["status"] == "refused" and refused["desbloqueio"]["codigo"] == "113"
    note = refused["desbloqueio"]["mensagem"]
    assert (
        "RECUSOU" in note
        and "já foi usado neste ciclo" in note
        and "NÃO diga que a internet foi liberada" in note
    )


def test_the_fallback_dialogue_says_the_internet_is_on_only_after_ixc_confirmed(
    world: World, ixc: IxcSimulator, maria_on_ixc, monkeypatch: pytest.MonkeyPatch
):
    _, contract = maria_on_ixc
    world.without_model_key(monkeypatch)

    [confirmed] = world.turn("529.982.247-25, pago dia 20")

    assert "Registrei que você vai pagar R$ 179,80 até 20/03/2025" in confirmed
    assert "Pronto, sua internet foi liberada até dia 13/03." in confirmed
    ixc.block(contract)
    [refused] = world.turn("pago dia 25")
    assert "liberada" not in refused
    assert "Não consegui liberar sua internet: O desbloqueio em confiança já foi usado neste ciclo" in refused
    assert "Sua promessa continua registrada." in refused


def test_an_unlock_the_erp_cannot_answer_is_recorded_unavailable_and_never_claimed(
    world: World, ixc: IxcSimulator, maria_on_ixc, monkeypatch: pytest.MonkeyPatch
):
    def down(self: IxcBilling, document: str, contract_id: str | None, until: date):
        raise CrmUnavailable("IXC desbloqueio_confianca: HTTP 500")

    monkeypatch.setattr(IxcBilling, "trust_unlock", down)
    world.model.script(tool_calls(promise_call()), text("Sua promessa está registrada."))

    world.turn("529.982.247-25, pago dia 20")

    [promise] = promises.active_for_document(DOCUMENT, world.clock.now())
    assert promise.unlock_status is UnlockStatus.UNAVAILABLE and promise.status is PromiseStatus.PENDING
    [result] = world.model.tool_results()
    assert (
        result["sucesso"] is True
        and "NÃO diga que a internet foi liberada" in result["desbloqueio"]["mensagem"]
    )


def test_a_campaign_without_trust_unlock_never_asks_for_one(
    world: World, ixc: IxcSimulator, make_campaign, make_target, make_conversation
):
    campaign = campaign_with(make_campaign, trust_unlock=False)
    world.debtor(make_target=make_target, make_conversation=make_conversation, campaign_id=campaign.id)
    ixc.add_debtor(DOCUMENT, "Maria Silva", world.crm.customers[DOCUMENT].invoices)
    world.model.script(tool_calls(promise_call()), text("Registrado!"))

    world.turn("529.982.247-25, pago dia 20")

    assert ixc.calls_to("desbloqueio_confianca") == []
    [promise] = promises.active_for_document(DOCUMENT, world.clock.now())
    assert promise.unlock_status is None
    assert "desbloqueio" not in world.model.tool_results()[0]


def test_the_generic_crm_records_a_trust_unlock_as_unsupported(
    world: World, make_campaign, make_target, make_conversation
):
    campaign = campaign_with(make_campaign, trust_unlock=True)
    world.debtor(make_target=make_target, make_conversation=make_conversation, campaign_id=campaign.id)
    world.model.script(tool_calls(promise_call()), text("Registrado!"))

    world.turn("529.982.247-25, pago dia 20")

    [promise] = promises.active_for_document(DOCUMENT, world.clock.now())
    assert promise.unlock_status is UnlockStatus.UNSUPPORTED and promise.status is PromiseStatus.PENDING
    note = world.model.tool_results()[0]["desbloqueio"]["mensagem"]
    assert "não prometa liberar a internet" in note


def test_the_pix_offered_is_ixcs_own_with_the_boleto_line_and_link(
    world: World, ixc: IxcSimulator, maria_on_ixc
):
    world.model.script(
        tool_calls(call("gerar_pagamento_pix", cpf_cnpj=DOCUMENT, numero_fatura=None)),
        text("Aqui estão os códigos."),
    )

    world.turn("529.982.247-25 me manda o pix")

    [result] = world.model.tool_results()
    codes = result["codigos"]
    assert [code["source"] for code in codes] == ["erp", "erp"]
    assert all(code["tipo"] == "pix_copia_cola" and "pix.ixc.example" in code["codigo"] for code in codes)
    assert all(code["linha_digitavel"].startswith("34191.09008") for code in codes)  # rendered by IXC
    titles = {request.body["id_areceber"] for request in ixc.calls_to("get_pix")}
    assert {code["fatura"] for code in codes} == titles
    assert ixc.rewritten_charges == []  # get_boleto never rewrote a charge


def test_without_ixcs_pix_the_boleto_line_of_ixc_comes_before_the_static_code(
    world: World, ixc: IxcSimulator, maria_on_ixc
):
    ixc.pix_gateway = False  # no Pix gateway for the titles' wallet: IXC still has the boleto
    world.model.script(
        tool_calls(call("gerar_pagamento_pix", cpf_cnpj=DOCUMENT, numero_fatura="FAT-2025-01")),
        text("Aqui está o boleto."),
    )

    world.turn("529.982.247-25 me manda o pix")

    [result] = world.model.tool_results()
    assert result["erro"] == "invoice_not_found"  # IXC numbers its titles itself: its own numbers only
    first = min(ixc.tables["fn_areceber"])
    world.model.script(
        tool_calls(call("gerar_pagamento_pix", cpf_cnpj=DOCUMENT, numero_fatura=first)),
        text("Aqui está o boleto."),
    )
    world.turn("esse aqui")
    [code] = world.model.tool_results()[-1]["codigos"]
    assert code["source"] == "erp" and code["tipo"] == "linha_digitavel"
    assert code["codigo"].startswith("34191.09008") and code["fatura"] == first


def test_when_ixc_cannot_give_payment_means_the_static_br_code_is_the_last_fallback(
    world: World, ixc: IxcSimulator, maria_on_ixc
):
    ixc.outage, ixc.outage_paths = "http_500", {"get_pix"}  # IXC's Pix down, its lists answer
    world.model.script(
        tool_calls(call("gerar_pagamento_pix", cpf_cnpj=DOCUMENT, numero_fatura=None)),
        text("Aqui está o Pix."),
    )

    world.turn("529.982.247-25 me manda o pix")

    [result] = world.model.tool_results()
    [code] = result["codigos"]
    assert code["source"] == "static" and code["valor"] == "R$ 179,80"
    assert "br.gov.bcb.pix" in code["codigo"] and "5406179.80" in code["codigo"]
