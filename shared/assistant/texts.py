"""Every Portuguese sentence the assistant's code writes, in one place: tool errors for the model,
and the customer-facing texts of the fallback dialogue, the opt-out confirmation and the media note.

Tool errors are addressed to the model (what happened, what to do next); the fallback texts are
addressed to the customer. The fallback's questions end with a fixed *ask* sentence (`ASKS`): the
dialogue reads the last one back from the conversation to know what it asked (see `last_ask`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from shared.core.config import get_settings
from shared.domain.models import UnlockStatus
from shared.domain.money import format_brl, parse_money
from shared.domain.names import display_name

WEEKDAY_NAMES: Final = (
    "segunda-feira",
    "terça-feira",
    "quarta-feira",
    "quinta-feira",
    "sexta-feira",
    "sábado",
    "domingo",
)


def brl(amount: Decimal) -> str:
    """R$ 1.234,56"""
    return format_brl(amount)


def day(value: date) -> str:
    """DD/MM/AAAA, as Brazilians write dates."""
    return value.strftime("%d/%m/%Y")


# --------------------------------------------------------------------------------------------------
# Tool errors, for the model. The ONE translation of tool failures (and of `PromiseRejected.code`).
# --------------------------------------------------------------------------------------------------

TOOL_ERRORS: Final[Mapping[str, str]] = {
    "invalid_arguments": "Os argumentos da ferramenta são inválidos ({detalhe}). Corrija e chame de novo.",
    "unknown_tool": "A ferramenta {ferramenta} não existe. Use apenas as ferramentas disponíveis.",
    "invalid_document": (
        "O CPF/CNPJ informado não é válido. Peça ao cliente, com gentileza, que confira e digite de novo."
    ),
    "other_document": (
        "Recusado: esta conversa só pode tratar do documento do titular da cobrança. Não consulte, não "
        "comente e não confirme nada sobre outro CPF/CNPJ; explique ao cliente, com educação, que só "
        "pode tratar da conta do titular."
    ),
    "identity_not_confirmed": (
        "Identidade ainda não confirmada: o próprio cliente precisa digitar o CPF/CNPJ dele nesta "
        "conversa antes de qualquer detalhe da dívida. Peça o documento com gentileza e não revele "
        "valores, faturas nem o documento esperado."
    ),
    "phone_not_on_file": (
        "Por segurança, este número não está no cadastro desse documento: nada sobre ele pode ser dito "
        "aqui. Responda exatamente com a mensagem ao cliente abaixo, sem confirmar nem negar que o "
        "documento tem cadastro, dívida ou faturas, e não chame outras ferramentas para esse documento. "
        "Mensagem ao cliente: " + "{resposta}"
    ),
    "crm_unavailable": (
        "O sistema de faturas não respondeu agora. Não diga que o cliente deve nem que está quite; "
        "peça desculpas, diga que vamos verificar e retornar, ou ofereça um atendente."
    ),
    "customer_not_found": (
        "Não há cadastro com esse documento no sistema de faturas. Peça ao cliente que confira o "
        "documento, ou ofereça um atendente."
    ),
    "nothing_open": "Não há faturas em aberto para este documento: não há promessa nem pagamento a registrar.",
    "invoice_not_found": "A fatura {numero} não está entre as faturas em aberto deste cliente.",
    "pix_unavailable": (
        "Não há código Pix nem linha digitável disponível agora. Ofereça o boleto pelo aplicativo ou "
        "um atendente."
    ),
    "invalid_date": (
        "A data informada ({data}) não é uma data válida. Peça ao cliente o dia do pagamento e envie "
        "no formato DD/MM/AAAA."
    ),
    "date_in_past": (
        "A data {data} já passou (hoje é {hoje}). Explique isso ao cliente e peça uma data a partir de hoje."
    ),
    "date_too_far": (
        "A data {data} passa do prazo máximo de {dias} dias. A data mais distante aceita é {limite}: "
        "peça ao cliente uma data até {limite}."
    ),
    "invalid_amount": (
        "O valor {valor} não é válido: precisa ser maior que zero e ter no máximo dois decimais. "
        "Pergunte de novo o valor."
    ),
    "amount_above_total": (
        "O valor {valor} é maior que o total em aberto ({total}). Peça um valor de até {total}."
    ),
    "already_transferred": "A conversa já está com um atendente humano.",
    "internal_error": (
        "Não foi possível concluir esta ação agora. Peça desculpas ao cliente e ofereça um atendente."
    ),
}


def unlock_note(status: UnlockStatus, until: date | None, reason: str | None) -> str:
    """What the model is told about a promise's trust unlock: say "liberada" only when the ERP confirmed."""
    if status is UnlockStatus.UNLOCKED:
        when = f" até {day(until)}" if until else ""
        example = (
            f"pronto, sua internet foi liberada até dia {short_day(until)}"
            if until
            else ("pronto, sua internet foi liberada")
        )
        return (
            f"O provedor CONFIRMOU o desbloqueio em confiança: a internet do cliente foi liberada{when}. "
            f'Diga isso ao cliente, por exemplo: "{example}", e lembre que o pagamento até a data '
            "prometida mantém a internet ligada."
        )
    if status is UnlockStatus.REFUSED:
        return (
            f"O provedor RECUSOU o desbloqueio em confiança: {reason or 'sem motivo informado.'} Explique "
            "isso ao cliente em palavras simples, diga que a promessa continua registrada e NÃO diga que "
            "a internet foi liberada."
        )
    if status is UnlockStatus.UNAVAILABLE:
        return (
            "O sistema do provedor não respondeu ao pedido de desbloqueio em confiança. NÃO diga que a "
            "internet foi liberada: diga que a promessa está registrada e que a liberação não foi "
            "possível agora; ofereça um atendente se ele precisar da internet."
        )
    return "O sistema do provedor não faz desbloqueio em confiança: não prometa liberar a internet."


class _Blank(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


def tool_error(code: str, **details: object) -> str:
    """The model-readable Portuguese for a tool failure `code` (unknown codes: the generic one)."""
    template = TOOL_ERRORS.get(code, TOOL_ERRORS["internal_error"])
    return template.format_map(_Blank(details))


# --------------------------------------------------------------------------------------------------
# Customer-facing texts.
# --------------------------------------------------------------------------------------------------


class Ask(StrEnum):
    """What the fallback dialogue asked last (read back from the conversation)."""

    DOCUMENT = "document"
    DATE = "date"
    CHOICE = "choice"


ASKS: Final[Mapping[Ask, str]] = {
    Ask.DOCUMENT: "Para sua segurança, pode me informar o seu CPF ou CNPJ?",
    Ask.DATE: "Até que dia você consegue pagar?",
    Ask.CHOICE: "O que você prefere?",
}


def last_ask(assistant_texts: Iterable[str]) -> Ask | None:
    """Which ask, if any, ends the most recent of `assistant_texts` (given oldest first)."""
    texts = list(assistant_texts)
    if not texts:
        return None
    last = texts[-1]
    for ask, sentence in ASKS.items():
        if sentence in last:
            return ask
    return None


def creditor() -> str:
    """ "a TR Telecom (CNPJ 12.345.678/0001-95)": who is collecting (CDC art. 42-A)."""
    settings = get_settings()
    cnpj = f" (CNPJ {settings.company_cnpj})" if settings.company_cnpj else ""
    return f"{settings.company_name}{cnpj}"


def greeting(name: str | None) -> str:
    """The fallback's first answer: who writes, for whom (CDC art. 42-A), why, and the ask for the document."""
    settings = get_settings()
    hello = f"Olá, {first_name(name)}!" if first_name(name) else "Olá!"
    return (
        f"{hello} Aqui é a {settings.assistant_name}, assistente virtual da {creditor()}. "
        "Estou falando sobre pendências financeiras da sua conta e estou aqui para ajudar. "
        f"{ASKS[Ask.DOCUMENT]}"
    )


def ask_document_again(prefix: str = "") -> str:
    """Ask for the CPF/CNPJ again, after an optional acknowledgement."""
    return f"{prefix}{ASKS[Ask.DOCUMENT]} Pode digitar só os números."


NOT_ON_FILE: Final = (
    "Por segurança, não passo informações de cadastro por este número. Se esse CPF/CNPJ tiver "
    "cadastro conosco, vamos enviar as informações para o número registrado nele. Se você for o "
    "titular e tiver trocado de número, fale com a nossa central para atualizar o cadastro."
)
WRONG_NUMBER: Final = (
    "Tudo bem, obrigado por avisar e desculpe o incômodo! Não vamos mais procurar essa pessoa neste número."
)
OTHER_DOCUMENT: Final = (
    "Por segurança, só posso tratar da conta do titular com quem estou conversando. " + ASKS[Ask.DOCUMENT]
)
INVALID_DOCUMENT: Final = (
    "Esse número não parece um CPF ou CNPJ válido. Pode conferir e digitar de novo? " + ASKS[Ask.DOCUMENT]
)
CUSTOMER_NOT_FOUND: Final = (
    "Não encontrei cadastro com esse documento. Pode conferir o número? Se preferir, escreva "
    '"atendente" que eu chamo alguém da nossa equipe.'
)
CRM_DOWN: Final = (
    "Desculpe, não consegui consultar o sistema de faturas agora. Vou verificar e retornamos em breve. "
    'Se preferir falar com uma pessoa, é só escrever "atendente".'
)
NOTHING_OPEN: Final = (
    "Boa notícia: não encontrei nenhuma fatura em aberto no seu documento. Obrigado, e desculpe o incômodo!"
)
PAYMENT_CONFIRMED: Final = (
    "Confirmei aqui: não há faturas em aberto no seu documento. Obrigado pelo pagamento e desculpe o "
    "transtorno — às vezes o sistema demora para atualizar. Você não receberá mais cobranças."
)
PAYMENT_NOT_YET_VISIBLE: Final = (
    "Obrigado por avisar! O pagamento ainda não aparece no nosso sistema — a compensação pode levar "
    "até 3 dias úteis. Registrei sua informação: não vamos entrar em contato nos próximos 3 dias e, "
    "depois disso, verificamos de novo. Se tiver o comprovante, nossa equipe pode ajudar."
)
DATE_NOT_UNDERSTOOD: Final = (
    'Não consegui entender a data. Pode me dizer o dia? Por exemplo: "dia 15", "20/03", '
    '"sexta-feira" ou "fim do mês". ' + ASKS[Ask.DATE]
)
TRANSFERRED: Final = (
    "Certo! Vou chamar uma pessoa da nossa equipe para continuar o seu atendimento por aqui. "
    "Em instantes alguém fala com você."
)


def transferred(opens: datetime | None, today: date, *, writes_again: bool = False) -> str:
    """What the customer handed to a person is told: someone answers in a moment while the desk is open
    (`opens` None), else when it opens (`opens`, in the customer's zone, whose date is `today`) — or,
    when the desk will not be able to write first then (`writes_again`: WhatsApp's Cloud API, the 24 h
    window closed by then), to write again once it opens."""
    if opens is None:
        return TRANSFERRED
    if opens.date() == today:
        when = f"hoje, a partir das {opens:%H:%M}"
    elif opens.date() == today + timedelta(days=1):
        when = f"amanhã, a partir das {opens:%H:%M}"
    else:
        when = f"{WEEKDAY_NAMES[opens.weekday()]}, {short_day(opens.date())}, a partir das {opens:%H:%M}"
    head = "Certo! Vou passar o seu atendimento para uma pessoa da nossa equipe. Nossa equipe não está atendendo agora"
    if writes_again:
        return f"{head}: mande uma mensagem aqui {when} e uma pessoa te responde."
    return f"{head}: alguém fala com você por aqui {when}."


OFFER_CHOICES: Final = (
    "Posso combinar com você uma data de pagamento, enviar o código Pix para pagar agora ou chamar "
    "uma pessoa da nossa equipe. " + ASKS[Ask.CHOICE]
)
PAYMENT_SENT_HERE: Final = (
    "Pronto! Te mandei aqui na conversa, em mensagens separadas: é só tocar no código para copiar. "
    "Se preferir, o boleto ou o link de pagamento também estão aí. Qualquer dúvida, me chama. 💙"
)
# What the tool tells the model about the WhatsApp delivery of the payment means, by the channel it
# talks on: on a call, Lia says she sent it while still talking.
PAYMENT_DELIVERY_NOTES: Final[Mapping[tuple[bool, str], str]] = {
    (True, "whatsapp"): (
        "Os códigos, o boleto e o link já foram enviados nesta conversa, cada um em sua mensagem. Não "
        "repita os códigos: diga apenas que enviou e que é só tocar no código para copiar."
    ),
    (True, "voice"): (
        "Os códigos, o boleto e o link foram enviados agora para o WhatsApp do cliente. Não leia o "
        'código: diga algo como "te mandei agora pelo WhatsApp" e continue a conversa.'
    ),
    (False, "whatsapp"): "Não foi possível enviá-los em mensagens separadas: escreva o código na resposta.",
    (False, "voice"): (
        "Não foi possível enviar pelo WhatsApp agora: ofereça ditar a linha digitável ou envie depois "
        "por um atendente."
    ),
}
CLOSING: Final = "Eu que agradeço! Qualquer dúvida, é só me chamar por aqui. 💙"
MEDIA_NOTE: Final = (
    "Recebi sua mensagem, obrigado! Por aqui eu consigo ler apenas mensagens de texto. "
    "Pode me escrever o que você precisa?"
)
MODEL_GAVE_NO_ANSWER: Final = (
    "Desculpe, não consegui concluir agora. Posso chamar uma pessoa da nossa equipe para te ajudar? "
    'É só escrever "atendente".'
)


def opt_out_confirmation() -> str:
    """The reply confirming an opt-out."""
    return (
        f"Pronto: você não receberá mais mensagens de cobrança da {get_settings().company_name}. "
        "Se precisar de algo, é só nos chamar."
    )


def first_name(name: str | None) -> str:
    """ "MARIA DA SILVA" → "Maria"; "" when the name has nothing to show (bounded by `display_name`)."""
    shown = display_name(name)
    return shown.split(" ")[0].title() if shown else ""


def invoices_quote(name: str | None, invoices: Sequence[Mapping[str, object]], total: Decimal) -> str:
    """The open invoices (already free of time-barred ones) and the question of when to pay."""
    who = f"{first_name(name)}, obrigado" if first_name(name) else "Obrigado"
    count = len(invoices)
    lines = [
        f"- Fatura {inv['numero']}: {brl(Decimal(str(inv['valor'])))} (vencimento {inv['vencimento_br']})"
        for inv in invoices[:6]
    ]
    plural = "fatura em aberto" if count == 1 else "faturas em aberto"
    return (
        f"{who} por confirmar. Encontrei {count} {plural}:\n"
        + "\n".join(lines)
        + f"\nTotal: {brl(total)}.\nPodemos combinar uma data que funcione para você. {ASKS[Ask.DATE]}"
    )


def short_day(value: date) -> str:
    """DD/MM, for a day of the coming weeks ("até dia 12/12")."""
    return value.strftime("%d/%m")


def promise_registered(
    amount: Decimal, promised: date, unlock: tuple[UnlockStatus, date | None, str | None] | None = None
) -> str:
    """The confirmation of a registered promise, with what the ERP did about the customer's internet
    (`unlock`: status, until, reason) when the campaign offers a trust unlock."""
    return (
        f"Perfeito! Registrei que você vai pagar {brl(amount)} até {day(promised)}. "
        "Fique tranquilo: você não receberá cobranças até essa data. "
        + (unlock_sentence(*unlock) if unlock else "")
        + 'Se quiser, escreva "pix" que eu envio o código para pagamento.'
    )


def unlock_sentence(status: UnlockStatus, until: date | None, reason: str | None) -> str:
    """The customer's sentence about a trust unlock ("" when the ERP has none), ending in a space."""
    if status is UnlockStatus.UNLOCKED:
        when = f" até dia {short_day(until)}" if until else ""
        return f"Pronto, sua internet foi liberada{when}. "
    if status is UnlockStatus.REFUSED:
        why = reason or "o provedor não autorizou."
        return f"Não consegui liberar sua internet: {why} Sua promessa continua registrada. "
    if status is UnlockStatus.UNAVAILABLE:
        return (
            "Não consegui liberar sua internet agora, o sistema do provedor não respondeu; "
            "sua promessa continua registrada. "
        )
    return ""


def promise_rejected(code: str, *, latest: date) -> str:
    """Why the day or amount was refused (a `PromiseRejected.code`), and the ask for another day."""
    reasons = {
        "date_in_past": "Essa data já passou.",
        "date_too_far": f"Consigo registrar datas só até {day(latest)}.",
        "invalid_date": "Essa data não existe no calendário.",
        "invalid_amount": "O valor precisa ser maior que zero.",
        "amount_above_total": "O valor ficou acima do total em aberto.",
    }
    return f"{reasons.get(code, 'Não consegui registrar essa data.')} {ASKS[Ask.DATE]}"


def hardship(latest: date) -> str:
    """Empathy, a longer term (up to `latest`), the offer of a human, the ask for a day."""
    return (
        "Entendo perfeitamente, e sinto muito por esse momento. Vamos encontrar uma solução juntos, "
        f"sem pressão: você pode escolher uma data até {day(latest)}. Se preferir conversar com uma "
        f'pessoa da nossa equipe, é só escrever "atendente". {ASKS[Ask.DATE]}'
    )


def payment_code(kind: str, code: str, amount: Decimal | None, link: str | None = None) -> str:
    """A Pix copia-e-cola, a boleto's linha digitável or the invoice's payment link (`kind` "link"),
    for the customer to copy; the payment link after a code when the billing system has one."""
    value = f" de {brl(amount)}" if amount is not None else ""
    if kind == "link":
        return f"Aqui está o link para pagar a fatura{value}:\n{code}"
    if kind == "linha_digitavel":
        text = f"Aqui está a linha digitável do boleto{value}:\n{code}"
    else:
        text = f"Aqui está o código Pix copia e cola{value}:\n{code}"
    return f"{text}\nSe preferir, pague pelo link: {link}" if link else text


def payment_codes(codes: Sequence[Mapping[str, Any]]) -> str:
    """The codes of a successful `gerar_pagamento_pix` (its `codigos`), one paragraph each."""
    return "\n\n".join(
        payment_code(code["tipo"], code["codigo"], parse_money(code["valor"]), code.get("link"))
        for code in codes
    )
