"""What the assistant reads without a model: opt-out keywords (whole-message intent), typed
documents, and the fallback dialogue's intents."""

from __future__ import annotations

import pytest

from shared.assistant import intents


@pytest.mark.parametrize(
    "said",
    [
        "PARAR",
        "parar.",
        "Sair",
        "STOP",
        "pare",
        "Não quero mais receber",
        "nao quero mais receber mensagens",
        "Cancelar mensagens",
        "cancelar",
        "Por favor, parar de receber mensagens",
        "pare de me mandar mensagens!",
        "não me mande mais mensagens",
        "me tire da lista",
        "Descadastrar",
        "  parar  por favor ",
    ],
)
def test_opt_out_keywords_are_recognised_whatever_the_accents_and_case(said):
    assert intents.is_opt_out_keyword(said)


@pytest.mark.parametrize(
    "said",
    [
        "Não vou parar de pagar",
        "parar de pagar não é opção",
        "Quero sair do vermelho",
        "como faço para cancelar o boleto antigo?",
        "Pare de brincadeira, quanto eu devo?",
        "oi",
    ],
)
def test_sentences_that_merely_contain_a_keyword_are_not_opt_outs(said):
    assert not intents.is_opt_out_keyword(said)


def test_the_loose_opt_out_finds_the_request_inside_a_sentence():
    assert intents.wants_opt_out("Olha, eu não quero mais receber essas cobranças, ok?")
    assert not intents.wants_opt_out("Não vou parar de pagar")


@pytest.mark.parametrize(
    ("said", "found"),
    [
        ("meu cpf é 529.982.247-25", ["52998224725"]),
        ("52998224725", ["52998224725"]),
        ("529 982 247 25", ["52998224725"]),
        ("CNPJ 11.222.333/0001-81 e CPF 111.444.777-35", ["11222333000181", "11144477735"]),
        ("12.ABC.345/01DE-35", ["12ABC34501DE35"]),
        ("123.456.789-00", []),  # check digits wrong
        ("meu telefone é 11 99999-8888", []),
        ("paguei 89,90 dia 15/03", []),
    ],
)
def test_documents_typed_in_a_message_are_found_and_normalized(said, found):
    assert intents.documents_in(said) == found


def test_a_mistyped_document_is_noticed():
    assert intents.looks_like_a_document("123.456.789-00")
    assert not intents.looks_like_a_document("dia 15")


@pytest.mark.parametrize(
    ("check", "said"),
    [
        (intents.claims_paid, "Já paguei ontem!"),
        (intents.claims_paid, "ja foi pago"),
        (intents.claims_paid, "te mando o comprovante"),
        (intents.wants_human, "quero falar com um atendente"),
        (intents.wants_human, "posso falar com uma pessoa?"),
        (intents.in_hardship, "Estou desempregado, não tenho como pagar"),
        (intents.wants_payment_code, "me manda o PIX"),
        (intents.asks_about_invoices, "quanto eu devo?"),
        (intents.is_closing, "Obrigado!"),
        (intents.is_closing, "ok, combinado"),
    ],
)
def test_fallback_intents(check, said):
    assert check(said)


def test_a_closing_does_not_swallow_a_question():
    assert not intents.is_closing("ok mas quanto eu devo?")


@pytest.mark.parametrize(
    "said",
    [
        "Não sou eu",
        "número errado!",
        "Não conheço essa pessoa",
        "foi engano",
        "esse não é meu número",
        "NAO SOU O TITULAR",
    ],
)
def test_a_wrong_number_is_recognised(said):
    assert intents.says_wrong_number(said)


@pytest.mark.parametrize("said", ["sou eu sim", "quero pagar", "o número da fatura", "conheço sim"])
def test_ordinary_answers_are_not_a_wrong_number(said):
    assert not intents.says_wrong_number(said)
