"""The human agent desk over the API: an agent's reply reaches the customer once through Evolution and
is stored as `agent`; bad text is refused; an Evolution outage keeps the message as `failed` and the
agent retries it; two agents taking one customer → one wins; the queue, its order and the time to the
first human reply; who did what in the thread; the assistant silent while a human has the case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.core.config import reset_settings
from shared.data import conversations
from shared.data.optouts import OptOutRecord
from shared.domain.errors import Conflict
from shared.domain.models import ConversationStatus, Sender
from shared.engine import handoff, optouts
from tests.integration.assistant.assistant_world import PHONE, World

TOKENS = {"viewer": "viewer-token", "supervisor": "supervisor-token", "admin": "admin-token"}
AGENT = "token:supervisor"
OTHER_AGENT = "token:admin"


class Desk:
    def __init__(self, world: World) -> None:
        self.world = world

    def call(self, method: str, path: str, role: str = "supervisor", **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {TOKENS[role]}"}
        return self.world.api.request(method, f"/api/voice/conversations{path}", headers=headers, **kwargs)

    def reply(self, conversation_id: str, text: str, role: str = "supervisor") -> Any:
        return self.call("POST", f"/{conversation_id}/messages", role, json={"text": text})

    def thread(self, conversation_id: str) -> list[dict[str, Any]]:
        response = self.call("GET", f"/{conversation_id}", "viewer")
        assert response.status_code == 200, response.text
        return list(response.json()["messages"])

    def queue(self) -> dict[str, Any]:
        response = self.call("GET", "/queue", "viewer")
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def desk(world: World, monkeypatch: pytest.MonkeyPatch) -> Desk:
    monkeypatch.setenv("COBRANCA_API_TOKENS", ",".join(f"{role}:{token}" for role, token in TOKENS.items()))
    reset_settings()
    return Desk(world)


@pytest.fixture
def maria(world: World, make_target, make_conversation):
    return world.debtor(make_target=make_target, make_conversation=make_conversation)


def test_an_agent_reply_reaches_the_customer_once_and_is_stored_as_the_agents(
    desk: Desk, world: World, maria
):
    _, conversation = maria
    handoff.transfer(conversation.id, by="assistant", reason="cliente pediu atendente")

    response = desk.reply(conversation.id, "Olá Maria, aqui é a Ana do financeiro.")

    assert response.status_code == 201, response.text
    sent = response.json()
    assert sent["sender"] == "agent" and sent["author"] == AGENT and sent["deliveryStatus"] == "pending"
    assert world.evolution.texts_to(PHONE) == ["Olá Maria, aqui é a Ana do financeiro."]
    stored = [m for m in world.thread(conversation.id) if m.sender is Sender.AGENT]
    assert [(m.content, m.author) for m in stored] == [("Olá Maria, aqui é a Ana do financeiro.", AGENT)]
    assert stored[0].external_id == world.evolution.sent[-1].id
    after = world.conversation()
    assert after.assignee == AGENT and after.status is ConversationStatus.TRANSFERRED
    assert after.waiting_since is None  # answered: out of the queue


def test_replying_in_a_conversation_the_assistant_has_takes_it_over(desk: Desk, world: World, maria):
    _, conversation = maria

    assert desk.reply(conversation.id, "Oi Maria, vou cuidar do seu caso.").status_code == 201

    after = world.conversation()
    assert after.status is ConversationStatus.TRANSFERRED and after.assignee == AGENT
    assert after.handoff_reason == handoff.SUPERVISOR_REASON
    notes = [m["content"] for m in desk.thread(conversation.id) if m["sender"] == "system"]
    assert f"Conversa assumida por {AGENT}" in notes
    assert world.turn("Obrigada!") == []  # the assistant stays silent
    assert world.model.requests == []


def test_a_viewer_cannot_reply(desk: Desk, world: World, maria):
    _, conversation = maria

    assert desk.reply(conversation.id, "Olá", role="viewer").status_code == 403
    assert world.evolution.sent == []


@pytest.mark.parametrize("text", ["", "   \n ", "x" * 4097])
def test_empty_or_over_long_text_is_refused_before_anything_is_sent(desk: Desk, world: World, maria, text):
    _, conversation = maria

    response = desk.reply(conversation.id, text)

    assert response.status_code == 422, response.text
    assert world.evolution.sent == []
    assert all(m.sender is not Sender.AGENT for m in world.thread(conversation.id))


def test_a_reply_when_evolution_is_down_is_kept_as_failed_and_retried(desk: Desk, world: World, maria):
    _, conversation = maria
    handoff.transfer(conversation.id, by="assistant", reason="negociação")
    world.evolution.failure_rate = 1.0

    response = desk.reply(conversation.id, "Maria, posso te ajudar?")

    assert response.status_code == 503, response.text
    failed = [m for m in desk.thread(conversation.id) if m["sender"] == "agent"]
    assert [(m["content"], m["deliveryStatus"]) for m in failed] == [("Maria, posso te ajudar?", "failed")]
    assert world.conversation().waiting_since is not None  # still waiting: nobody answered yet

    world.evolution.failure_rate = 0.0
    retried = desk.call("POST", f"/{conversation.id}/messages/{failed[0]['id']}/retry")

    assert retried.status_code == 200, retried.text
    assert retried.json()["id"] == failed[0]["id"] and retried.json()["deliveryStatus"] == "pending"
    assert world.evolution.texts_to(PHONE) == ["Maria, posso te ajudar?"]
    agent = [m for m in world.thread(conversation.id) if m.sender is Sender.AGENT]
    assert len(agent) == 1 and agent[0].external_id == world.evolution.sent[-1].id
    again = desk.call("POST", f"/{conversation.id}/messages/{failed[0]['id']}/retry")
    assert again.status_code == 409  # only a failed message is retried: never sent twice
    assert len(world.evolution.sent) == 1


def test_a_failed_reply_is_not_retried_once_the_customer_opted_out(desk: Desk, world: World, maria):
    _, conversation = maria
    handoff.transfer(conversation.id, by="assistant", reason="negociação")
    world.evolution.failure_rate = 1.0
    assert desk.reply(conversation.id, "Maria, posso te ajudar?").status_code == 503
    [failed] = [m for m in desk.thread(conversation.id) if m["sender"] == "agent"]
    world.evolution.failure_rate = 0.0
    world.clock.advance(timedelta(minutes=2))
    optouts.opt_out(phone=PHONE, document=None, reason="PARAR", source="keyword")

    retried = desk.call("POST", f"/{conversation.id}/messages/{failed['id']}/retry")

    assert (retried.status_code, retried.json()["code"]) == (409, "opted_out"), retried.text
    assert world.evolution.texts_to(PHONE) == []
    [still] = [m for m in desk.thread(conversation.id) if m["sender"] == "agent"]
    assert still["deliveryStatus"] == "failed"


def test_two_agents_taking_one_conversation_one_wins(desk: Desk, world: World, maria):
    _, conversation = maria
    handoff.transfer(conversation.id, by="assistant", reason="quer falar com atendente")
    stale = world.conversation()

    assert desk.call("POST", f"/{conversation.id}/take").status_code == 200
    second = desk.call("POST", f"/{conversation.id}/take", "admin")

    assert second.status_code == 409, second.text
    assert world.conversation().assignee == AGENT
    assert desk.reply(conversation.id, "Eu também respondo", role="admin").status_code == 409
    assert world.evolution.sent == []
    # The race itself: both read "nobody has it"; the conditional write lets one through.
    with pytest.raises(Conflict):
        conversations.update_handling(
            stale,
            expect={"status": ConversationStatus.TRANSFERRED, "assignee": None},
            hold=True,
            assignee="x",
        )


def test_the_queue_oldest_first_with_reason_and_wait_and_the_first_reply_time(
    desk: Desk, world: World, maria
):
    _, conversation = maria
    handoff.transfer(conversation.id, by="assistant", reason="cliente pediu atendente")
    world.clock.advance(timedelta(minutes=4))

    queue = desk.queue()

    assert queue["waiting"] == 1
    [entry] = queue["items"]
    assert entry["id"] == conversation.id and entry["reason"] == "cliente pediu atendente"
    assert entry["waitingSeconds"] == 240
    assert queue["firstHumanReply"] == {"count": 0, "medianMinutes": None, "p90Minutes": None}

    assert desk.reply(conversation.id, "Oi Maria!").status_code == 201
    answered = desk.queue()
    assert answered["waiting"] == 0 and answered["items"] == []
    assert answered["firstHumanReply"] == {"count": 1, "medianMinutes": 4, "p90Minutes": 4}

    world.clock.advance(timedelta(minutes=1))
    assert world.turn("Oi, ainda estou aqui") == []  # the customer writes again: back in the queue
    [back] = desk.queue()["items"]
    assert back["id"] == conversation.id and back["waitingSeconds"] == 0
    assert desk.reply(conversation.id, "Já te respondo").status_code == 201
    assert desk.queue()["firstHumanReply"]["count"] == 1  # only the first reply is timed


def test_the_queue_reads_the_opt_outs_of_its_whole_page_at_once(
    desk: Desk, world: World, maria, make_conversation, monkeypatch: pytest.MonkeyPatch
):
    _, conversation = maria
    others = [
        conversations.create(
            make_conversation(chat_id=f"whatsapp_55119000000{n:02d}", phone=f"55119000000{n:02d}")
        )
        for n in (1, 2)
    ]
    for waiting in (conversation, *others):
        handoff.transfer(waiting.id, by="assistant", reason="cliente pediu atendente")
    optouts.opt_out(phone=others[0].phone, document=None, reason="PARAR", source="keyword")
    reads: list[list[str]] = []
    batch_get = OptOutRecord.batch_get

    def counting(keys: Any, **kwargs: Any) -> Any:
        reads.append(list(keys))
        return batch_get(reads[-1], **kwargs)

    monkeypatch.setattr(OptOutRecord, "batch_get", counting)
    queue = desk.queue()

    assert {entry["id"]: entry["replyBlockedReason"] for entry in queue["items"]} == {
        conversation.id: None,
        others[0].id: "opted_out",
        others[1].id: None,
    }
    assert len(reads) == 1


def test_resolving_records_who_and_when_and_gives_the_customer_back_to_the_assistant(
    desk: Desk, world: World, maria
):
    _, conversation = maria
    handoff.transfer(conversation.id, by="assistant", reason="contestação")
    assert desk.call("POST", f"/{conversation.id}/take").status_code == 200

    resolved = desk.call("POST", f"/{conversation.id}/resolve", "admin")

    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["status"] == "resolved" and body["resolvedBy"] == OTHER_AGENT
    assert body["resolvedAt"] is not None and body["waitingSince"] is None
    assert desk.queue()["waiting"] == 0
    notes = [(m["content"], m["author"]) for m in desk.thread(conversation.id) if m["sender"] == "system"]
    assert (f"Conversa assumida por {AGENT}", AGENT) in notes
    assert (f"Conversa resolvida por {OTHER_AGENT}", OTHER_AGENT) in notes
    listed = desk.call("GET", "?status=resolved", "viewer").json()
    assert [c["id"] for c in listed] == [conversation.id]
    assert desk.call("POST", f"/{conversation.id}/resolve", "viewer").status_code == 403


def test_releasing_gives_it_back_to_the_assistant_and_records_who(desk: Desk, world: World, maria):
    _, conversation = maria
    handoff.transfer(conversation.id, by="assistant", reason="negociação")

    released = desk.call("POST", f"/{conversation.id}/release")

    assert released.status_code == 200 and released.json()["status"] == "ai"
    assert released.json()["assignee"] is None and desk.queue()["waiting"] == 0
    last = desk.thread(conversation.id)[-1]
    assert (last["sender"], last["author"]) == ("system", AGENT)
    assert world.conversation().status is ConversationStatus.AI


def _on_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOLUTION_INTEGRATION", "cloud")
    reset_settings()


def test_on_cloud_a_reply_outside_the_24h_window_is_refused_and_nothing_sent_or_stored(
    desk: Desk, world: World, maria, monkeypatch: pytest.MonkeyPatch
):
    _on_cloud(monkeypatch)
    _, conversation = maria
    handoff.transfer(conversation.id, by="assistant", reason="cliente pediu atendente")
    assert world.conversation().last_inbound_at is None  # she never wrote: no window

    response = desk.reply(conversation.id, "Olá Maria, aqui é a Ana do financeiro.")

    assert response.status_code == 409, response.text
    assert response.json()["code"] == "whatsapp_window_closed"
    assert "24 h" in response.json()["detail"] and "nothing was sent" in response.json()["detail"]
    assert world.evolution.sent == []
    assert all(m.sender is not Sender.AGENT for m in world.thread(conversation.id))
    assert world.conversation().assignee is None  # not taken either


def test_on_cloud_a_reply_inside_the_window_is_sent_and_refused_once_it_has_closed(
    desk: Desk, world: World, maria, monkeypatch: pytest.MonkeyPatch
):
    _on_cloud(monkeypatch)
    _, conversation = maria
    world.say("Quero falar com uma pessoa")
    assert world.drain() == []
    handoff.transfer(conversation.id, by="assistant", reason="cliente pediu atendente")
    world.clock.advance(timedelta(hours=23))

    inside = desk.reply(conversation.id, "Oi Maria, sou a Ana.")

    assert inside.status_code == 201, inside.text
    assert world.evolution.texts_to(PHONE)[-1] == "Oi Maria, sou a Ana."
    sent_before = len(world.evolution.sent)
    world.clock.advance(timedelta(hours=1, minutes=1))  # 24 h since her message

    outside = desk.reply(conversation.id, "Maria, ainda está aí?")

    assert outside.status_code == 409 and outside.json()["code"] == "whatsapp_window_closed"
    assert len(world.evolution.sent) == sent_before
    agent = [m.content for m in world.thread(conversation.id) if m.sender is Sender.AGENT]
    assert agent == ["Oi Maria, sou a Ana."]
