"""Reading customers' words without a model: opt-out keywords, the documents they type, and the few
intents the fallback dialogue understands (a wrong number among them). All matching is accent- and case-insensitive."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from shared.domain.documents import normalize_document
from shared.domain.errors import InvalidInput


def normalize(text: str) -> str:
    """Lower case, accents dropped, punctuation as spaces, whitespace collapsed: "Não QUERO!" → "nao quero"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w/$,.-]+|[.,!?;:]+(?=\s|$)", " ", plain).split())


_POLITE: Final = r"(?:por favor|pfv|pf|obrigad[oa]|ok|oi|ola|bom dia|boa tarde|boa noite)"
_MESSAGES: Final = r"(?:essas |estas |as |suas )?(?:mensage(?:m|ns)|cobrancas?|msg|contatos?|ligacoes)"
_OPT_OUT_CORE: Final = (
    r"(?:parar|pare|para|sair|stop|cancelar|descadastrar|remover|bloquear)"
    rf"(?: (?:de receber )?{_MESSAGES})?"
    rf"|(?:eu )?nao quero (?:mais )?receber(?: (?:mais )?{_MESSAGES})?(?: mais)?"
    rf"|cancelar (?:o )?(?:recebimento|envio)(?: de {_MESSAGES})?"
    rf"|(?:para|pare|parem) de (?:me )?(?:mandar|enviar|mandarem)(?: {_MESSAGES})?"
    rf"|nao (?:me )?(?:mande|mandem|envie|enviem) mais(?: {_MESSAGES})?"
    r"|(?:me )?(?:remova|remover|tire|tirar)(?: meu numero| o meu numero)?(?: da lista| dessa lista)?"
)
_OPT_OUT: Final = re.compile(rf"(?:{_POLITE} )*(?:{_OPT_OUT_CORE})(?: {_POLITE})*")
_OPT_OUT_LOOSE: Final = re.compile(
    r"nao quero (?:mais )?receber|(?:parem|pare|para) de (?:me )?(?:mandar|enviar)|cancelar mensage"
    r"|nao (?:me )?(?:mande|mandem|envie|enviem) mais|descadastr|(?:me )?(?:tire|remova) da lista"
)


def is_opt_out_keyword(text: str) -> bool:
    """Whether the whole message asks to stop receiving messages ("PARAR", "Sair", "não quero mais
    receber", "cancelar mensagens"...). A sentence that merely contains "parar" ("não vou parar de
    pagar") is not an opt-out: only a message that is the request itself is."""
    return bool(_OPT_OUT.fullmatch(normalize(text)))


def wants_opt_out(text: str) -> bool:
    """Looser than `is_opt_out_keyword`: the request inside a longer sentence (fallback dialogue)."""
    norm = normalize(text)
    return is_opt_out_keyword(text) or bool(_OPT_OUT_LOOSE.search(norm))


_HUMAN: Final = re.compile(
    r"\b(?:atendente|humano|humana|pessoa de verdade|falar com (?:uma |um )?(?:pessoa|alguem|gerente|"
    r"supervisor|atendente)|operador|operadora)\b"
)
_PAID: Final = re.compile(
    r"\b(?:ja (?:foi )?pag(?:uei|amos|o|a|ei)|paguei|ja quitei|quitei|ja esta pago|ja ta pago|"
    r"ja fiz o pagamento|fiz o pagamento|efetuei o pagamento|comprovante)\b"
)
_HARDSHIP: Final = re.compile(
    r"\b(?:desempregad[oa]|sem emprego|perdi (?:o|meu) emprego|nao tenho (?:como|dinheiro|condic)|"
    r"sem dinheiro|dificuldade|dificil|apertad[oa]|doente|doenca|hospital|nao consigo pagar|"
    r"estou sem|to sem|falecimento|faleceu)\b"
)
_PIX: Final = re.compile(r"\b(?:pix|boleto|codigo|copia e cola|linha digitavel|pagar agora|link)\b")
_INVOICES: Final = re.compile(r"\b(?:fatura|faturas|quanto|valor|valores|debito|debitos|divida|devo)\b")


_CLOSING_WORD: Final = (
    r"(?:muito |mt )?obrigad[oa]|valeu|ok|okay|beleza|blz|combinado|certo|perfeito|tchau|ate mais|"
    r"show|joia|entendi|sim|ta bom|ta|tudo bem|otimo|entao|mesmo|viu|por tudo|de nada|bom dia|boa tarde|"
    r"boa noite|ate|la|fico no aguardo"
)
_CLOSING: Final = re.compile(rf"(?:{_CLOSING_WORD})(?: (?:{_CLOSING_WORD}))*")


def is_closing(text: str) -> bool:
    """A thank-you or an acknowledgement that asks for nothing ("Obrigado!", "ok, combinado")."""
    return bool(_CLOSING.fullmatch(normalize(text)))


_WRONG_NUMBER: Final = re.compile(
    r"\b(?:nao sou eu|nao e (?:o )?meu (?:numero|telefone|celular)|numero errado|telefone errado|"
    r"engano|nao conheco (?:essa|esse|este|esta|a|o)? ?(?:pessoa|cliente|senhora?|moca|moco|rapaz|"
    r"ninguem|ele|ela)|nao conheco nenhuma? |nao tem ningu[e]m com esse nome|nao mora (?:aqui|ninguem)|"
    r"nao sou (?:ele|ela|essa pessoa|esse cliente|o titular|a titular))\b"
)


def says_wrong_number(text: str) -> bool:
    """The person says the number is not the customer's ("não sou eu", "número errado", "não conheço
    essa pessoa")."""
    return bool(_WRONG_NUMBER.search(normalize(text)))


def wants_human(text: str) -> bool:
    """The customer asks for a person (atendente, humano...)."""
    return bool(_HUMAN.search(normalize(text)))


def claims_paid(text: str) -> bool:
    """The customer says they already paid ("já paguei", "comprovante"...)."""
    return bool(_PAID.search(normalize(text)))


def in_hardship(text: str) -> bool:
    """The customer tells of hardship: unemployment, illness, no money..."""
    return bool(_HARDSHIP.search(normalize(text)))


def wants_payment_code(text: str) -> bool:
    """The customer asks for a way to pay now (Pix, boleto, código)."""
    return bool(_PIX.search(normalize(text)))


def asks_about_invoices(text: str) -> bool:
    """The customer asks what they owe."""
    return bool(_INVOICES.search(normalize(text)))


# A CPF (11 digits) or CNPJ (14 characters, the last two digits) as people type them: with or
# without the usual punctuation, or with spaces between the groups.
_DOCUMENT: Final = re.compile(
    r"(?<![0-9A-Za-z])(?:"
    r"\d{3}[.\s]?\d{3}[.\s]?\d{3}[-.\s]?\d{2}"
    r"|[0-9A-Za-z]{2}[.\s]?[0-9A-Za-z]{3}[.\s]?[0-9A-Za-z]{3}[/\s]?[0-9A-Za-z]{4}[-.\s]?\d{2}"
    r")(?![0-9A-Za-z])"
)
_LONG_NUMBER: Final = re.compile(r"(?<!\d)\d(?:[\d.\-/\s]{8,20})\d(?!\d)")


def documents_in(text: str) -> list[str]:
    """The valid CPFs/CNPJs written in `text`, normalized, in order of appearance, without repeats."""
    found: list[str] = []
    for match in _DOCUMENT.finditer(text):
        try:
            document = normalize_document(re.sub(r"\s", "", match.group()))
        except InvalidInput:
            continue
        if document not in found:
            found.append(document)
    return found


def looks_like_a_document(text: str) -> bool:
    """Whether `text` holds a long number that is probably a mistyped CPF/CNPJ (9+ digits)."""
    return any(len(re.sub(r"\D", "", m.group())) in range(9, 15) for m in _LONG_NUMBER.finditer(text))
