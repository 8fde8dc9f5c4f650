"""`identityConfirmed` in the conversation lists says whether the confirmation holds now —
IDENTITY_TTL_HOURS and the case's current contact — not whether one was ever stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from shared.core import clock as clock_module
from shared.data import conversations, targets
from shared.domain.models import Conversation, Target
from shared.engine import identity
from tests.integration.api.conftest import Api


def _shown(api: Api, conversation_id: str) -> dict[str, bool]:
    listed = {c["id"]: c["identityConfirmed"] for c in api.get("/api/voice/conversations").json()}
    detail = api.get(f"/api/voice/conversations/{conversation_id}").json()["identityConfirmed"]
    return {"list": listed[conversation_id], "detail": detail}


def test_a_confirmation_shows_until_the_ttl_then_the_list_says_it_expired(
    api: Api,
    clock: clock_module.VirtualClock,
    make_target: Callable[..., Target],
    make_conversation: Callable[..., Conversation],
) -> None:
    [case], _ = targets.insert_new([make_target()])
    talk = conversations.create(make_conversation(target_id=case.id, document=case.document))
    check = identity.verify(talk, case.document, document_given=True)
    identity.confirm(talk, case.document, check, case)

    assert _shown(api, talk.id) == {"list": True, "detail": True}
    clock.advance(identity.ttl() - timedelta(minutes=1))
    assert _shown(api, talk.id) == {"list": True, "detail": True}
    clock.advance(timedelta(minutes=1))
    assert _shown(api, talk.id) == {"list": False, "detail": False}
    assert conversations.get(talk.id).identity_confirmed  # the stored flag never says it


def test_a_new_contact_of_the_case_ends_the_confirmation_in_the_list(
    api: Api,
    clock: clock_module.VirtualClock,
    make_target: Callable[..., Target],
    make_conversation: Callable[..., Conversation],
) -> None:
    [case], _ = targets.insert_new([make_target()])
    talk = conversations.create(make_conversation(target_id=case.id, document=case.document))
    identity.confirm(talk, case.document, identity.verify(talk, case.document, document_given=True), case)
    clock.advance(timedelta(hours=1))

    targets.record_contact(case)  # a follow-up: the customer is asked again

    assert _shown(api, talk.id) == {"list": False, "detail": False}
