"""The assistant's tools, channel-neutral: WhatsApp's chat model, the fallback dialogue and the voice
bridge call the very same functions through `invoke` (the bridge adds its own `encerrar_chamada`).

Guards live here, in code, whatever the model says:
- a tool acts only on the conversation's document; any other CPF/CNPJ is refused and never reaches
  the CRM;
- debt details and actions on the account need the person *and* the phone (`shared.engine.identity`):
  the conversation's phone on file for the document, and the document given in this conversation
  within the confirmation's validity (their stored words are read — the model's argument alone proves
  nothing). From a phone not on file nothing is disclosed, the answer is the same whether or not the
  document is a customer's, and the registered number is contacted instead; an inbound conversation
  is linked to the customer's case only once confirmed;
- every call that gave a customer's data is logged on the conversation (`Tool.discloses`);
- promise rules are `shared.engine.promises.register`'s (the trust unlock of a campaign included),
  payment claims `shared.engine.payments`';
- payment codes are the billing system's own (`payment_means`: a payment there settles the ERP invoice
  and lifts the block by itself); the static BR Code of PIX_KEY only when the ERP has none; they go to
  the customer's WhatsApp whatever the channel (`shared.engine.whatsapp_out.send_payment`: the boleto
  PDF as a document, the Pix code in its own message), so on a call Lia sends them while talking;
- every failure (bad arguments, unknown tool, CRM down, a rejected promise) comes back as tool output
  in Portuguese (`texts.tool_error`), never as an exception that ends the turn.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.adapters import clients
from shared.adapters.billing import BillingSystem, PaymentMeans
from shared.adapters.crm import CrmUnavailable, Debt, Invoice
from shared.assistant import actions, dates, texts
from shared.assistant.intents import documents_in
from shared.core import clock
from shared.core.config import get_settings
from shared.core.observability import logger
from shared.data import messages
from shared.data import targets as targets_data
from shared.domain import identity, pix, promise_rules
from shared.domain.debts import DebtKind, DebtReading, read_debt
from shared.domain.documents import normalize_document
from shared.domain.errors import DomainError, NotFound, Refused, ServiceUnavailable
from shared.domain.models import Channel, Conversation, PaymentMethod, Sender, Target
from shared.domain.money import parse_money
from shared.domain.phones import timezone_for_phone
from shared.engine import handoff, payments, promises, whatsapp_out
from shared.engine import identity as identity_check

# How many of the conversation's latest messages are searched for the document the customer typed.
_IDENTITY_LOOKBACK = 200

# What the customer said, and when: typed (WhatsApp), spoken (the call's transcript, digits as
# `digits_spoken` writes them) or keyed (a call's keypad digits, stored as the customer's words).
Said = tuple[datetime, str]


class ToolError(Exception):
    """A tool refusing or failing in an expected way; `code` is a key of `texts.TOOL_ERRORS`."""

    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass
class ToolContext:
    """What a tool may act on: one conversation, its target, the channel and the customer's zone."""

    conversation: Conversation
    target: Target | None
    channel: Channel
    tz: ZoneInfo
    crm: BillingSystem | None = None
    # The customer's own messages of this conversation, if the caller already read them (the turn's
    # history); read from storage on first need otherwise.
    customer_words: list[Said] | None = field(default=None, repr=False)
    # Set by `numero_errado`: the person said this number is not the customer's (nobody was reached).
    wrong_number_reported: bool = False
    _answers: dict[str, Debt | None] = field(default_factory=dict, repr=False)

    @classmethod
    def for_conversation(
        cls, conversation: Conversation, channel: Channel, *, crm: BillingSystem | None = None
    ) -> ToolContext:
        """The context of a stored conversation: its target loaded, the zone from its phone."""
        target = None
        if conversation.target_id:
            try:
                target = targets_data.get(conversation.target_id)
            except NotFound:
                logger.warning("conversation's target is gone", conversation_id=conversation.id)
        return cls(conversation, target, channel, timezone_for_phone(conversation.phone), crm)

    @property
    def document(self) -> str | None:
        """The document being collected in this conversation, if known."""
        return self.conversation.document or (self.target.document if self.target else None)

    @property
    def identity_confirmed(self) -> bool:
        """Whether the conversation holds a confirmation still valid (TTL, current contact)."""
        return identity_check.confirmed(self.conversation, self.target)

    def today(self) -> date:
        """The customer's local date (relative dates and promise limits are counted from it)."""
        return dates.today_in(self.tz)

    def crm_client(self) -> BillingSystem:
        """The billing system given, else the process's (`shared.adapters.clients.crm`)."""
        if self.crm is None:
            self.crm = clients.crm()
        return self.crm

    def consult(self, document: str) -> Debt | None:
        """The billing system's answer for `document`, asked once per turn (the identity check's
        phones and the tools read the same answer); `CrmUnavailable` is not kept."""
        if document not in self._answers:
            self._answers[document] = self.crm_client().consult(document)
        return self._answers[document]

    def reading(self, document: str) -> DebtReading[Invoice]:
        """The CRM's answer for `document` as `read_debt` reads it."""
        return read_debt(self.consult(document), self.today())

    def customer_gave(self, document: str) -> bool:
        """Whether the customer gave `document` in their own words of this conversation, recently
        enough to count (`shared.engine.identity.evidence_since`: the TTL and the current contact)."""
        if self.customer_words is None:
            recent = messages.list_for(self.conversation.id, limit=_IDENTITY_LOOKBACK, newest_first=True)
            self.customer_words = [(m.created_at, m.content) for m in recent if m.sender is Sender.CUSTOMER]
        since = identity_check.evidence_since(self.target)
        return any(at >= since and document in documents_in(text) for at, text in self.customer_words)

    def billing_phones(self, document: str) -> tuple[str, ...]:
        """The phones the billing system has for `document` (none when it does not know it or does
        not answer: the phone is then not on file, and nothing is said either way)."""
        try:
            debt = self.consult(document)  # only its phones are read here: nothing is disclosed
        except CrmUnavailable:
            return ()
        return debt.phones if debt is not None else ()


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call gave: `data` is sent to the model; `error` is the failure code, if any."""

    name: str
    ok: bool
    data: dict[str, Any]
    error: str | None = None

    def to_json(self) -> str:
        """The tool message content sent back to the model."""
        return json.dumps(self.data, ensure_ascii=False, default=str)


A = TypeVar("A", bound=BaseModel)


@dataclass(frozen=True)
class Tool(Generic[A]):
    """A tool: its strict JSON schema, the pydantic model its arguments are parsed with, its handler."""

    name: str
    description: str
    parameters: dict[str, Any]  # a strict JSON schema
    arguments: type[A]
    handler: Callable[[ToolContext, A], dict[str, Any]]
    # What a successful call gives of the customer's data (logged on the conversation), if anything.
    discloses: str | None = None

    def chat_schema(self) -> dict[str, Any]:
        """The Chat Completions form (`tools=[...]`), strict."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
                "strict": True,
            },
        }

    def realtime_schema(self) -> dict[str, Any]:
        """The Realtime `session.update` form (flat)."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }


# --------------------------------------------------------------------------------------------------
# Schemas: strict (every property required, optional ones nullable, no additional properties).
# --------------------------------------------------------------------------------------------------


def _object(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _string(description: str, *, nullable: bool = False, enum: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": ["string", "null"] if nullable else "string",
        "description": description,
    }
    if enum is not None:
        schema["enum"] = [*enum, None] if nullable else enum
    return schema


_DOCUMENT_ARG = _string("CPF ou CNPJ do cliente, exatamente como ele digitou na conversa")


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConsultArgs(_Arguments):
    """consultar_faturas_cpf"""

    cpf_cnpj: str


class PromiseArgs(_Arguments):
    """registrar_promessa_pagamento (the seed's arguments)"""

    cpf_cnpj: str
    data_prevista_pagamento: str
    valor_prometido: float | int | str
    metodo_pagamento: PaymentMethod | None = None
    observacoes: str | None = None


class StatusArgs(_Arguments):
    """atualizar_status_cobranca: `novo_status` is what the customer claims; the CRM decides."""

    cpf_cnpj: str
    novo_status: Literal["paid", "payment_confirmed"] = "paid"
    observacoes: str | None = None


class ReasonArgs(_Arguments):
    """registrar_opt_out, transferir_para_humano"""

    motivo: str | None = None


class PixArgs(_Arguments):
    """gerar_pagamento_pix"""

    cpf_cnpj: str
    numero_fatura: str | None = None


# --------------------------------------------------------------------------------------------------
# Guards
# --------------------------------------------------------------------------------------------------


def authorize(ctx: ToolContext, raw_document: str) -> str:
    """The normalized document a tool may disclose or act on, or `ToolError`: another document, a
    phone not on file for it (the registered number is contacted instead; the same answer whether or
    not the document is a customer's), or the document not given (recently enough) by the person.
    Nothing of the customer reaches the model before this passes."""
    document = normalize_document(raw_document)  # InvalidDocument -> "invalid_document"
    expected = ctx.document
    if expected is not None and document != expected:
        logger.warning("tool refused another document", conversation_id=ctx.conversation.id)
        raise ToolError("other_document")
    already = expected == document and ctx.identity_confirmed
    given = already or ctx.customer_gave(document)
    check = identity_check.verify(
        ctx.conversation, document, document_given=given, billing_phones=lambda: ctx.billing_phones(document)
    )
    if check.verdict is identity.Verdict.NOT_ON_FILE:
        if not given:
            raise ToolError("identity_not_confirmed")
        identity_check.reach_registered(check)
        raise ToolError("phone_not_on_file", resposta=texts.NOT_ON_FILE)
    if check.verdict is identity.Verdict.ASK_DOCUMENT:
        raise ToolError("identity_not_confirmed")
    if not already:
        ctx.conversation, target = identity_check.confirm(ctx.conversation, document, check, ctx.target)
        ctx.target = ctx.target or target
    return document


def account_confirmed(ctx: ToolContext) -> bool:
    """Whether an action may touch the account (the document's opt-out, the case): the identity is
    confirmed and still valid in this conversation."""
    return ctx.document is not None and ctx.identity_confirmed


# --------------------------------------------------------------------------------------------------
# Handlers
# --------------------------------------------------------------------------------------------------


def consult_invoices(ctx: ToolContext, args: ConsultArgs) -> dict[str, Any]:
    """The open, collectible invoices of the conversation's document (confirms identity)."""
    document = authorize(ctx, args.cpf_cnpj)
    reading = ctx.reading(document)
    if reading.kind is DebtKind.UNKNOWN_CUSTOMER:
        raise ToolError("customer_not_found")
    invoices, total = reading.invoices, reading.total  # time-barred invoices are never quoted
    return {
        "cliente": reading.name or (ctx.target.client_name if ctx.target else None),
        "faturas_em_aberto": len(invoices),
        "total_devido": str(total),
        "total_formatado": texts.brl(total),
        "detalhes_faturas": [_invoice_json(inv) for inv in invoices],
    }


def register_promise(ctx: ToolContext, args: PromiseArgs) -> dict[str, Any]:
    """A promise through `shared.engine.promises.register_for_case`, against the CRM's open total."""
    document = authorize(ctx, args.cpf_cnpj)
    today = ctx.today()
    max_days = get_settings().promise_max_days
    details: dict[str, object] = {
        "data": args.data_prevista_pagamento,
        "hoje": texts.day(today),
        "dias": max_days,
        "limite": texts.day(today + timedelta(days=max_days)),
        "valor": str(args.valor_prometido),
    }
    try:
        day = promise_rules.parse_promise_date(args.data_prevista_pagamento, today)
        amount = parse_money(args.valor_prometido)
    except DomainError as exc:
        raise ToolError(exc.code, **details) from None
    details |= {"data": texts.day(day), "valor": texts.brl(amount)}
    reading = ctx.reading(document)
    details["total"] = texts.brl(reading.total)
    try:
        promise = promises.register_for_case(
            reading,
            document=document,
            amount=amount,
            day=day,
            tz=ctx.tz,
            target=ctx.target,
            conversation_id=ctx.conversation.id,
            payment_method=args.metodo_pagamento,
            notes=args.observacoes,
            billing=ctx.crm_client(),
        )
    except promise_rules.PromiseRejected as exc:
        raise ToolError(exc.code, **details) from None
    data: dict[str, Any] = {
        "sucesso": True,
        "data_prometida": texts.day(promise.due_date),
        "valor_prometido": texts.brl(promise.amount),
        "mensagem": (
            f"Promessa registrada: {texts.brl(promise.amount)} até {texts.day(promise.due_date)}. "
            "O cliente não receberá cobranças até o fim desse dia."
        ),
    }
    if promise.unlock_status is not None:
        data["desbloqueio"] = {
            "status": promise.unlock_status.value,
            "ate": promise.unlock_until.isoformat() if promise.unlock_until else None,
            "codigo": promise.unlock_code,
            "motivo": promise.unlock_reason,
            "mensagem": texts.unlock_note(promise.unlock_status, promise.unlock_until, promise.unlock_reason),
        }
    return data


def update_payment_status(ctx: ToolContext, args: StatusArgs) -> dict[str, Any]:
    """The customer says they paid: verified with the CRM (`shared.engine.payments.verify_claim`)."""
    document = authorize(ctx, args.cpf_cnpj)
    verification = payments.verify_claim(
        document,
        crm=ctx.crm_client(),
        today=ctx.today(),
        target_id=ctx.target.id if ctx.target else None,
        notes=args.observacoes,
    )
    if verification.result is payments.ClaimResult.UNKNOWN_CUSTOMER:
        raise ToolError("customer_not_found")
    if verification.result is payments.ClaimResult.PAID:
        return {
            "status": "paid",
            "mensagem": "Pagamento confirmado no sistema: não há faturas em aberto. Agradeça ao cliente.",
        }
    return {
        "status": "payment_claimed",
        "em_aberto": texts.brl(verification.open_total),
        "mensagem": (
            "O pagamento ainda NÃO aparece no sistema (pode levar até 3 dias úteis para compensar). "
            "Não diga que está pago. A informação foi registrada: o cliente não será contatado nos "
            "próximos 3 dias e depois verificaremos de novo."
        ),
    }


def opt_out(ctx: ToolContext, args: ReasonArgs) -> dict[str, Any]:
    """The customer asked never to be contacted again."""
    actions.opt_out_conversation(
        ctx.conversation, ctx.target, confirmed=account_confirmed(ctx), source="assistant", reason=args.motivo
    )
    return {
        "sucesso": True,
        "mensagem": "Opt-out registrado: o cliente não receberá mais mensagens de cobrança. Confirme isso a ele.",
    }


def hand_over(ctx: ToolContext, args: ReasonArgs) -> None:
    """Hand the conversation to a human (`shared.engine.handoff.transfer`), on either channel; the case
    with it when the account is confirmed or the conversation is on the case's own number."""
    if handoff.is_silenced(ctx.conversation):
        raise ToolError("already_transferred")
    with_case = account_confirmed(ctx) or identity_check.on_the_case_number(ctx.conversation, ctx.target)
    ctx.conversation = handoff.transfer(
        ctx.conversation.id, by="assistant", reason=args.motivo, with_case=with_case
    )


def transfer_to_human(ctx: ToolContext, args: ReasonArgs) -> dict[str, Any]:
    """WhatsApp's `transferir_para_humano`: the handoff (`hand_over`), and what the customer is told —
    a person answers in a moment, or when the desk opens, or (`cloud`, the 24 h window closed by then)
    to write again once it opens (`aviso`). A call's is `shared.engine.warm_transfer.transfer_on_call`."""
    chat = ctx.conversation  # the turn's: its 24 h window counts from this very message
    hand_over(ctx, args)
    opens = handoff.desk_opens(chat, clock.now())
    # On `cloud`, a window closed by the time the desk opens: only a new message lets the desk write.
    writes_again = opens is not None and not whatsapp_out.free_text_open(chat, at=opens)
    return {
        "sucesso": True,
        "equipe_atendendo_agora": opens is None,
        "aviso": texts.transferred(opens, ctx.today(), writes_again=writes_again),
        "mensagem": (
            "Conversa transferida para um atendente humano. Avise o cliente com o que está em `aviso`, "
            "com estas palavras ou quase (quando alguém da equipe vai responder); depois disso, não "
            "responda mais."
        ),
    }


def wrong_number(ctx: ToolContext, args: ReasonArgs) -> dict[str, Any]:
    """The person says this is not the customer's number: never contacted again for the customer
    (`shared.engine.identity.mark_wrong_number`), and nothing of the customer is said."""
    document = ctx.document
    if document is not None:
        identity_check.mark_wrong_number(
            document, ctx.conversation.phone, source="assistant", reason=args.motivo
        )
        ctx.conversation = actions.forget_identity(ctx.conversation)
        ctx.wrong_number_reported = True
    return {
        "sucesso": True,
        "mensagem": (
            "Registrado: este número não será mais contatado sobre esse cliente. Peça desculpas pelo "
            "engano, agradeça e não fale nada sobre o cliente ou a dívida."
        ),
    }


def payment_code(ctx: ToolContext, args: PixArgs) -> dict[str, Any]:
    """Each invoice's payment code from the billing system (`payment_means`: Pix copia-e-cola, else
    the boleto line; the PDF link too), `source: "erp"`; the invoices it has none for (or all of them,
    when it does not answer) share one static Pix BR Code, `source: "static"`."""
    document = authorize(ctx, args.cpf_cnpj)
    invoices = ctx.reading(document).owing().invoices  # customer_not_found, nothing_open
    if args.numero_fatura:
        chosen = [inv for inv in invoices if inv.number == args.numero_fatura.strip()]
        if not chosen:
            raise ToolError("invoice_not_found", numero=args.numero_fatura)
    else:
        chosen = list(invoices)
    codes: list[dict[str, Any]] = []
    without: list[Invoice] = []
    for invoice in chosen:
        means = _erp_means(ctx, document, invoice)
        if means is not None and (means.pix_copia_cola or means.linha_digitavel or means.pdf_link):
            codes.append(_erp_code(invoice, means))
        else:
            without.append(invoice)
    if without:
        total = sum((inv.amount for inv in without), Decimal("0.00"))
        try:
            codes.append(_static_pix(total, without[0].number if len(without) == 1 else None))
        except ToolError:
            if not codes:
                raise
            missing = [inv.number for inv in without]
            return {"codigos": codes, "faturas_sem_codigo": missing} | _send_to_whatsapp(ctx, codes)
    return {"codigos": codes} | _send_to_whatsapp(ctx, codes)


def _send_to_whatsapp(ctx: ToolContext, codes: list[dict[str, Any]]) -> dict[str, Any]:
    """Send the codes to the customer's WhatsApp (where free text may go now: in a WhatsApp turn, the
    message being answered opened the window, and the codes go to this chat); `whatsapp` says whether
    they went, `instrucao` what the model says about it on this channel."""
    sent = False
    chat = ctx.conversation if ctx.channel is Channel.WHATSAPP else None
    if chat is not None or whatsapp_out.may_send_free_text(ctx.conversation.phone):
        try:
            items = [_payment_item(c) for c in codes]
            whatsapp_out.send_payment(ctx.conversation.phone, ctx.target, items, chat=chat)
            sent = True
        except (ServiceUnavailable, Refused) as exc:
            logger.warning(
                "payment means not sent on WhatsApp", conversation_id=ctx.conversation.id, reason=exc.message
            )
        except DomainError as exc:  # not on WhatsApp
            logger.info(
                "payment means not sent on WhatsApp", conversation_id=ctx.conversation.id, reason=exc.code
            )
    return {
        "whatsapp": "enviado" if sent else "nao_enviado",
        "instrucao": texts.PAYMENT_DELIVERY_NOTES[(sent, ctx.channel.value)],
    }


def _payment_item(code: dict[str, Any]) -> whatsapp_out.PaymentItem:
    kind, value = code["tipo"], code["codigo"]
    return whatsapp_out.PaymentItem(
        invoice=code.get("fatura"),
        amount=code["valor"],
        pix=value if kind == "pix_copia_cola" else None,
        boleto_line=value if kind == "linha_digitavel" else None,
        link=value if kind == "link" else code.get("link"),
    )


def _erp_means(ctx: ToolContext, document: str, invoice: Invoice) -> PaymentMeans | None:
    """The billing system's payment means of `invoice`; None when it cannot give them now."""
    try:
        return ctx.crm_client().payment_means(document, invoice.number)
    except CrmUnavailable as exc:
        logger.warning("erp payment means unavailable", invoice=invoice.number, reason=exc.message)
        return None
    except NotFound:
        raise ToolError("invoice_not_found", numero=invoice.number) from None


def _erp_code(invoice: Invoice, means: PaymentMeans) -> dict[str, Any]:
    """The invoice's code to copy (Pix, else the boleto line, else only its payment link, `tipo`
    "link"), with the payment link beside a code when there is both."""
    code: dict[str, Any] = {"fatura": invoice.number, "valor": texts.brl(invoice.amount), "source": "erp"}
    if means.pix_copia_cola:
        code |= {"tipo": "pix_copia_cola", "codigo": means.pix_copia_cola}
        if means.linha_digitavel:
            code["linha_digitavel"] = means.linha_digitavel
    elif means.linha_digitavel:
        code |= {"tipo": "linha_digitavel", "codigo": means.linha_digitavel}
    else:
        return code | {"tipo": "link", "codigo": means.pdf_link}
    if means.pdf_link:
        code["link"] = means.pdf_link
    return code


def _static_pix(amount: Decimal, reference: str | None) -> dict[str, Any]:
    settings = get_settings()
    if not (settings.pix_key and settings.pix_merchant_name and settings.pix_merchant_city):
        raise ToolError("pix_unavailable")
    txid = re.sub(r"[^A-Za-z0-9]", "", reference or "")[:25] or None
    code = pix.static_brcode(
        key=settings.pix_key,
        merchant_name=settings.pix_merchant_name,
        merchant_city=settings.pix_merchant_city,
        amount=amount,
        txid=txid,
    )
    return {
        "fatura": reference,
        "valor": texts.brl(amount),
        "tipo": "pix_copia_cola",
        "codigo": code,
        "source": "static",
    }


def _invoice_json(invoice: Invoice) -> dict[str, Any]:
    return {
        "numero": invoice.number,
        "valor": str(invoice.amount),
        "vencimento": invoice.due_date.isoformat(),
        "vencimento_br": texts.day(invoice.due_date),
        "dias_atraso": invoice.days_overdue,
    }


# --------------------------------------------------------------------------------------------------
# The registry and the one entry point
# --------------------------------------------------------------------------------------------------

_TOOL_LIST: list[Tool[Any]] = [
    Tool(
        "consultar_faturas_cpf",
        "Consulta as faturas em aberto do titular. Só funciona com o CPF/CNPJ que o próprio cliente "
        "digitou nesta conversa; serve também para confirmar a identidade.",
        _object(cpf_cnpj=_DOCUMENT_ARG),
        ConsultArgs,
        consult_invoices,
        discloses="faturas",
    ),
    Tool(
        "registrar_promessa_pagamento",
        "Registra a promessa de pagamento do cliente. Ele NÃO receberá mais cobranças até o fim do "
        "dia prometido. A data deve ser a partir de hoje e no máximo 30 dias à frente. Se o resultado "
        "trouxer 'desbloqueio', siga a mensagem dele: só diga que a internet foi liberada quando o "
        "status for unlocked.",
        _object(
            cpf_cnpj=_DOCUMENT_ARG,
            data_prevista_pagamento=_string("Data que o cliente prometeu pagar, formato DD/MM/AAAA"),
            valor_prometido={"type": "number", "description": "Valor que o cliente prometeu pagar, em reais"},
            metodo_pagamento=_string(
                "Como o cliente pretende pagar, se ele disse",
                nullable=True,
                enum=[method.value for method in PaymentMethod],
            ),
            observacoes=_string("Observações sobre a promessa (ex.: situação do cliente)", nullable=True),
        ),
        PromiseArgs,
        register_promise,
        discloses="promessa",
    ),
    Tool(
        "atualizar_status_cobranca",
        "Use quando o cliente disser que já pagou. O sistema verifica o pagamento no CRM e informa se "
        "está confirmado ou ainda não compensado. Nunca diga que está pago sem esta verificação.",
        _object(
            cpf_cnpj=_DOCUMENT_ARG,
            novo_status=_string("O que o cliente afirma", enum=["paid", "payment_confirmed"]),
            observacoes=_string("Detalhes que o cliente deu sobre o pagamento", nullable=True),
        ),
        StatusArgs,
        update_payment_status,
        discloses="status_pagamento",
    ),
    Tool(
        "registrar_opt_out",
        "Registra que o cliente não quer mais receber mensagens de cobrança (definitivo).",
        _object(motivo=_string("O que o cliente pediu, em poucas palavras", nullable=True)),
        ReasonArgs,
        opt_out,
    ),
    Tool(
        "transferir_para_humano",
        "Transfere a conversa para um atendente humano: quando o cliente pedir, estiver em "
        "sofrimento, contestar a dívida ou quando você não puder ajudar.",
        _object(motivo=_string("Motivo da transferência", nullable=True)),
        ReasonArgs,
        transfer_to_human,
    ),
    Tool(
        "gerar_pagamento_pix",
        "Gera o código de pagamento (Pix copia e cola ou linha digitável) das faturas em aberto do "
        "titular, ou de uma fatura específica, com o link de pagamento da fatura quando houver (campo "
        "link; tipo link quando só há o link), e os envia ao WhatsApp do cliente (o boleto em PDF como "
        "documento, o Pix em mensagem própria), também durante uma ligação; siga o campo instrucao. "
        'source "erp": código do próprio provedor, a baixa é '
        'automática; source "static": Pix genérico da empresa, a baixa pode levar até 3 dias úteis.',
        _object(
            cpf_cnpj=_DOCUMENT_ARG,
            numero_fatura=_string("Número da fatura, ou null para todas as faturas em aberto", nullable=True),
        ),
        PixArgs,
        payment_code,
        discloses="codigo_pagamento",
    ),
    Tool(
        "numero_errado",
        "Use quando a pessoa disser que não é o titular, que o número está errado ou que não conhece "
        'o cliente ("não sou eu", "número errado", "não conheço essa pessoa"). Este número não será '
        "mais contatado sobre o cliente. Depois, não fale nada sobre o cliente nem sobre a dívida.",
        _object(motivo=_string("O que a pessoa disse, em poucas palavras", nullable=True)),
        ReasonArgs,
        wrong_number,
    ),
]

TOOLS: Mapping[str, Tool[Any]] = {tool.name: tool for tool in _TOOL_LIST}


def chat_tool_schemas(tools: Mapping[str, Tool[Any]] = TOOLS) -> list[dict[str, Any]]:
    """The `tools=[...]` of a Chat Completions request."""
    return [tool.chat_schema() for tool in tools.values()]


def invoke(
    name: str,
    arguments: str | Mapping[str, Any],
    ctx: ToolContext,
    tools: Mapping[str, Tool[Any]] = TOOLS,
) -> ToolOutcome:
    """Run one tool call. Never raises for the tool's failures: they come back as an outcome whose
    data is `{"erro": code, "mensagem": <Portuguese for the model>}`."""
    tool = tools.get(name)
    if tool is None:
        return _failure(name, "unknown_tool", ferramenta=name)
    try:
        if isinstance(arguments, str):
            args = tool.arguments.model_validate_json(arguments or "{}")
        else:
            args = tool.arguments.model_validate(dict(arguments))
    except ValidationError as exc:
        return _failure(name, "invalid_arguments", detalhe=_validation_summary(exc))
    try:
        data = tool.handler(ctx, args)
    except ToolError as exc:
        return _failure(name, exc.code, **exc.details)
    except DomainError as exc:  # InvalidDocument, CrmUnavailable, InvalidAmount...: codes of TOOL_ERRORS
        return _failure(name, exc.code)
    except Exception:
        # The turn must go on: the model is told the action failed and offers a human.
        logger.exception("tool failed", tool=name, conversation_id=ctx.conversation.id)
        return _failure(name, "internal_error")
    # The trace comes with the disclosure: a log that cannot be written fails the turn (SQS retries it)
    # rather than let the data out untraced.
    if tool.discloses is not None and ctx.document is not None:
        ctx.conversation = identity_check.record_disclosure(
            ctx.conversation, tool=name, what=tool.discloses, document=ctx.document
        )
    logger.info("tool succeeded", tool=name, conversation_id=ctx.conversation.id)
    return ToolOutcome(name, True, data)


def _failure(name: str, code: str, **details: object) -> ToolOutcome:
    logger.info("tool refused", tool=name, error_code=code)
    return ToolOutcome(name, False, {"erro": code, "mensagem": texts.tool_error(code, **details)}, code)


def _validation_summary(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "argumentos"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
