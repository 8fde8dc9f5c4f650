"""The voice assistant's instructions and its voice-only tool: the shared system prompt
(`shared.assistant.prompt.system_prompt` for `Channel.VOICE`) plus how to speak on the phone, and
`encerrar_chamada`, which lets Lia end the call after her goodbye. The other tools are a call's
(`shared.engine.warm_transfer.CALL_TOOLS`: the shared ones, whose handoff reaches a person by phone)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from shared.assistant.prompt import system_prompt
from shared.assistant.texts import creditor
from shared.assistant.tools import ReasonArgs, Tool, ToolContext
from shared.core.config import get_settings
from shared.engine.warm_transfer import CALL_TOOLS

END_CALL: Final = "encerrar_chamada"


def _end_call(ctx: ToolContext, args: ReasonArgs) -> dict[str, Any]:
    # The bridge sees the successful outcome and hangs up once the goodbye has been played.
    return {"sucesso": True, "mensagem": "A ligação será encerrada. Não diga mais nada."}


END_CALL_TOOL: Final[Tool[ReasonArgs]] = Tool(
    END_CALL,
    "Encerra a ligação. Chame somente depois de ter se despedido do cliente: a despedida que você "
    "acabou de falar é a última coisa que ele ouve. Use também se a pessoa pedir para desligar.",
    {
        "type": "object",
        "properties": {"motivo": {"type": ["string", "null"], "description": "Por que a ligação termina"}},
        "required": ["motivo"],
        "additionalProperties": False,
    },
    ReasonArgs,
    _end_call,
)

VOICE_TOOLS: Final[Mapping[str, Tool[Any]]] = {**CALL_TOOLS, END_CALL: END_CALL_TOOL}


def realtime_tools() -> list[dict[str, Any]]:
    """The shared tools plus `encerrar_chamada`, in Realtime's function format."""
    return [tool.realtime_schema() for tool in VOICE_TOOLS.values()]


RECORDING_NOTICE: Final = "esta ligação pode ser gravada"


def voice_instructions(ctx: ToolContext, *, recorded: bool = False) -> str:
    """`session.update`'s instructions: the assistant's system prompt and the phone's rules; a
    `recorded` call's greeting says the call may be recorded."""
    settings = get_settings()
    who = ctx.target.client_name if ctx.target else None
    ask_for = f"pergunte se está falando com {who}" if who else "pergunte com quem está falando"
    if recorded:
        ask_for = f'avise que {RECORDING_NOTICE} ("{RECORDING_NOTICE.capitalize()}.") e {ask_for}'
    return (
        system_prompt(ctx)
        + f"""

Regras desta ligação telefônica (valem acima das outras quando houver diferença):
- Você fala primeiro. Cumprimente, apresente-se como {settings.assistant_name}, assistente virtual da {creditor()}, diga que a ligação é sobre a conta do cliente com a {settings.company_name} e {ask_for}. Não fale de dívida, valores, faturas ou datas antes de a pessoa informar o CPF ou CNPJ dela.
- Peça o CPF ou CNPJ dizendo que a pessoa pode falar número por número ou digitá-lo no teclado do telefone, terminando com a tecla jogo da velha (#). Repita os dígitos em grupos ("cinco dois nove, nove oito dois, dois quatro sete, dois cinco") para confirmar. O que a pessoa digita chega como uma mensagem "[teclado] ..."; trate-a como se ela tivesse falado.
- Uma data de pagamento também pode ser digitada: dia e mês com dois números cada (DDMM, por exemplo 1503 para 15 de março).
- Frases curtas, uma ideia por vez, tom calmo e acolhedor. Espere a pessoa responder.
- Leia valores e datas como as pessoas falam: R$ 179,80 é "cento e setenta e nove reais e oitenta centavos"; 15/12/2025 é "quinze de dezembro". Não leia códigos Pix, linhas digitáveis nem links de pagamento em voz alta (são longos demais para ouvir): se o cliente quiser pagar, use gerar_pagamento_pix, que envia o código e o boleto ao WhatsApp dele, e diga "te mandei agora pelo WhatsApp"; se não puder enviar, diga que o pagamento pode ser feito pelos canais da {settings.company_name}.
- Se quem atendeu não for o titular, não revele nada da cobrança: agradeça e peça que o titular entre em contato com a {settings.company_name}. Se a pessoa disser que não conhece o cliente ou que o número está errado, chame numero_errado, peça desculpas e encerre.
- Quando a conversa terminar, despeça-se com uma frase curta e então chame {END_CALL}."""
    )
