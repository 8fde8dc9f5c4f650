"""How a WhatsApp message leaves, whichever Evolution integration the instance runs
(EVOLUTION_INTEGRATION):

- `baileys` (WhatsApp Web): every message is free text;
- `cloud` (Meta's Cloud API): free text only inside the 24 h customer-service window that the
  customer's last message opened (`Conversation.last_inbound_at`, kept per chat by the inbound
  worker); outside it a business-initiated message is the campaign's approved template for the step
  (`business_message`), and a free-text send is not attempted (`may_send_free_text`).

Replies type like a person (`typing_delay_ms`: Evolution shows "digitando…" for that long) and the
customer's message is marked read when it is answered (`mark_read`). Payment documents go out here
too (`send_payment`): a boleto PDF as a document, a Pix copia-e-cola alone in its own message (one tap
copies it), a payment page as a link.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Final, NamedTuple
from urllib.parse import urlsplit

from shared.adapters import clients
from shared.adapters.evolution import ApprovedTemplate, EvolutionUnavailable, SentMessage
from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger
from shared.data import messages
from shared.domain import templates
from shared.domain.errors import Refused
from shared.domain.models import Campaign, Channel, Conversation, DeliveryStatus, MessageStep, Sender, Target
from shared.engine.conversations import find_whatsapp, open_conversation
from shared.engine.outreach_texts import step_parameters

# "digitando…" lasts about as long as a person types the reply, never more than this.
TYPING_MS_PER_CHARACTER: Final = 25
TYPING_MAX_MS: Final = 4000
TYPING_MIN_MS: Final = 600

_Send = Callable[[], SentMessage]


class NoApprovedTemplate(Refused):
    """A `cloud` business-initiated message whose step has no template in the campaign."""

    code = "no_approved_template"


class PaymentItem(NamedTuple):
    """One invoice's payment means to send: any of a Pix code, a boleto line, a link."""

    invoice: str | None
    amount: str  # as the customer reads it, "R$ 89,90"
    pix: str | None = None
    boleto_line: str | None = None
    link: str | None = None


def typing_delay_ms(text: str) -> int:
    """How long Evolution shows "digitando…" before `text`: proportional to its length, capped."""
    return max(TYPING_MIN_MS, min(TYPING_MAX_MS, len(text) * TYPING_MS_PER_CHARACTER))


def may_send_free_text(phone: str) -> bool:
    """Whether free text may go to `phone` now: always on `baileys`; on `cloud` only inside the window
    the customer's last message opened."""
    if get_settings().evolution_integration != "cloud":
        return True
    conversation = find_whatsapp(phone)
    return conversation is not None and free_text_open(conversation)


def free_text_open(chat: Conversation, at: datetime | None = None) -> bool:
    """Whether free text may go on the WhatsApp conversation `chat` now, or at `at` if nobody writes
    meanwhile (see `may_send_free_text`)."""
    if get_settings().evolution_integration != "cloud":
        return True
    return templates.in_service_window(chat.last_inbound_at, at or clock.now())


def business_message(
    target: Target, campaign: Campaign, step: MessageStep, text: str
) -> tuple[SentMessage, str]:
    """Send one outreach step: its text where free text may go, else the step's approved template
    with the body parameters; `NoApprovedTemplate` when the campaign maps none to the step. Returns
    Evolution's answer and what the thread shows (the text, or the template and its parameters)."""
    if may_send_free_text(target.phone):
        return clients.whatsapp().send_text(target.phone, text), text
    template = campaign.whatsapp_templates.get(step)
    if template is None:
        raise NoApprovedTemplate(f"the campaign has no approved WhatsApp template for {step.value}")
    parameters = step_parameters(target)
    sent = clients.whatsapp().send_template(target.phone, template.name, template.language, parameters)
    return sent, f"[modelo {template.name} ({template.language})] {' · '.join(parameters)}"


def reply(number: str, text: str) -> SentMessage:
    """An answer inside the conversation, typed like a person would."""
    return clients.whatsapp().send_text(number, text, delay_ms=typing_delay_ms(text))


def mark_read(remote_jid: str, message_id: str) -> None:
    """Blue ticks on the customer's message; a failure is logged, never fails the turn."""
    try:
        clients.whatsapp().mark_read(remote_jid, message_id)
    except (EvolutionUnavailable, Refused) as exc:
        logger.warning("message not marked read", reason=exc.message)


def approved_templates() -> list[ApprovedTemplate]:
    """The instance's templates (Meta's list, through Evolution), for the campaign form."""
    return clients.whatsapp().templates()


def send_payment(
    phone: str, target: Target | None, items: Sequence[PaymentItem], *, chat: Conversation | None = None
) -> int:
    """Send each invoice's payment means to the customer's WhatsApp and store them in its thread
    (`chat`, else the WhatsApp conversation of `phone`, opened for `target`): a boleto PDF (a link
    ending in `.pdf`) as a document, the Pix code alone in its own message (else the boleto line),
    any other link as the invoice's payment page. Returns how many messages went. Raises
    `EvolutionUnavailable`/`Refused` from the first send that fails."""
    conversation = chat or open_conversation(Channel.WHATSAPP, phone, target=target)
    sent = 0
    for item in items:
        for content, send in _payment_messages(phone, item):
            answer = send()
            messages.record(
                conversation.id,
                Sender.ASSISTANT,
                content,
                external_id=answer.id,
                delivery_status=DeliveryStatus.PENDING,
            )
            sent += 1
    logger.info("payment means sent on WhatsApp", conversation_id=conversation.id, messages=sent)
    return sent


def _payment_messages(phone: str, item: PaymentItem) -> list[tuple[str, _Send]]:
    """(what the thread shows, the send) for each message of one invoice, in order."""
    whatsapp = clients.whatsapp()
    label = f"fatura {item.invoice}" if item.invoice else "fatura"
    out: list[tuple[str, _Send]] = []
    pdf = item.link if item.link and is_pdf_link(item.link) else None
    if pdf is not None:
        caption = f"Boleto da {label} ({item.amount})"
        file_name = f"boleto-{item.invoice or 'fatura'}.pdf"
        out.append(
            (
                f"[documento {file_name}] {caption}",
                lambda: whatsapp.send_media(
                    phone, media_url=pdf, file_name=file_name, mimetype="application/pdf", caption=caption
                ),
            )
        )
    code = item.pix or item.boleto_line
    if code is not None:
        out.append((code, lambda: whatsapp.send_text(phone, code)))
    if item.link and pdf is None:
        page = f"Link para pagar a {label} ({item.amount}): {item.link}"
        out.append((page, lambda: whatsapp.send_text(phone, page)))
    return out


def is_pdf_link(url: str) -> bool:
    """Whether a payment link is the boleto's PDF (its path ends in `.pdf`) rather than a payment page."""
    return urlsplit(url).path.lower().endswith(".pdf")
