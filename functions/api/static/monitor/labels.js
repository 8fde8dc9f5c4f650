// Monitor de Cobranças — what the page says (pt-BR labels and formats) and how it builds elements.

export const ZONE = "America/Sao_Paulo";

export const SOURCE_LABEL = { inbound: "Entrada", whatsapp_campaign: "Campanha WhatsApp", voice_campaign: "Campanha Voz" };
export const CONVERSATION_STATUS = { ai: "Atendendo", transferred: "Transferido", resolved: "Resolvido" };
export const CALL_DISPOSITION = {
  promise_made: "Promessa de pagamento", transferred: "Transferida a um atendente", opted_out: "Pediu para não ser contatado",
  wrong_number: "Número errado", no_agreement: "Sem acordo",
};
export const CAMPAIGN_STATUS = { draft: "Rascunho", active: "Ativa", paused: "Pausada", completed: "Concluída" };
export const CONTACT_METHOD = { whatsapp_primary: "WhatsApp primeiro", whatsapp_fallback: "Voz primeiro", voice: "Somente voz" };
export const CHANNEL = { whatsapp: "WhatsApp", voice: "Voz" };
// Why the desk cannot reply now (`replyBlockedReason`): the reply box's hint, and the queue's short tag.
export const REPLY_BLOCKED = {
  opted_out: "O cliente pediu para não ser mais contatado: a equipe só pode responder se ele escrever de novo.",
  whatsapp_window_closed: "Aguardando o cliente escrever no WhatsApp: fora da janela de 24 h, só mensagens aprovadas podem ser enviadas.",
};
export const REPLY_BLOCKED_TAG = {
  opted_out: "Pediu para não ser contatado", whatsapp_window_closed: "Aguardando o cliente escrever no WhatsApp",
};
export const PROMISE_STATUS = { pending: "Pendente", fulfilled: "Cumprida", broken: "Quebrada", renegotiated: "Renegociada" };
export const UNLOCK_STATUS = {
  unlocked: "Liberada", refused: "Desbloqueio recusado", unsupported: "Sem desbloqueio no ERP", unavailable: "ERP não respondeu",
};
export const PAYMENT_METHOD = {
  pix: "Pix", boleto: "Boleto", cartao_credito: "Cartão de crédito", debito_automatico: "Débito automático", outros: "Outros",
};
export const TARGET_STATE = { pending: "Pendentes", scheduled: "Agendados", calling: "Em chamada", contacted: "Contatados", completed: "Concluídos" };
export const OUTCOME = {
  answered: "Atendeu", no_answer: "Não atendeu", busy: "Ocupado", failed: "Falha", voicemail: "Caixa postal",
  voicemail_left: "Recado na caixa postal",
  not_on_whatsapp: "Sem WhatsApp", not_delivered: "Mensagem não entregue", promise_made: "Promessa registrada", paid: "Pago",
  payment_claimed: "Pagamento informado", promise_broken: "Promessa quebrada",
  opted_out: "Pediu para não ser contatado", transferred: "Transferido", wrong_number: "Número errado",
  contact_requested: "Contato pedido de outro número",
  unknown_customer: "Cliente não encontrado no CRM", time_barred: "Dívida prescrita", exhausted: "Contatos esgotados",
};
export const MESSAGE_STEP = {
  first_contact: "Primeira mensagem", follow_up: "Retomada", after_broken_promise: "Após promessa não cumprida",
  last_notice: "Último aviso",
};
export const KPI = {
  contactRate: "Taxa de Contato", responseRate: "Taxa de Resposta", promiseRate: "Taxa de Promessa",
  fulfilmentRate: "Taxa de Cumprimento", conversionRate: "Taxa de Conversão",
};
export const SENDER = { customer: "Cliente", assistant: "Assistente virtual", agent: "Atendente", system: "Sistema" };
export const DELIVERY = { pending: "enviando", server_ack: "enviada", delivered: "entregue", read: "lida", failed: "falhou" };
export const WEEKDAY = ["", "Seg", "Ter", "Qua", "Qui", "Sex", "Sáb", "Dom"];
export const FIELD_LABEL = {
  client_name: "Nome", phone: "Telefone", document: "CPF/CNPJ", debt_amount: "Valor",
  invoice_number: "Fatura", invoice_due_date: "Vencimento", installation_point: "Ponto de instalação",
};
// Why a spreadsheet row was rejected, by the API's error code; the API's own sentence (with the
// exact detail: digit counts, the line of the first copy...) is shown under it.
export const IMPORT_ERROR = {
  missing_value: "Campo obrigatório vazio",
  invalid_name: "Nome inválido",
  invalid_phone: "Telefone inválido",
  invalid_document: "CPF/CNPJ inválido",
  invalid_amount: "Valor inválido",
  invalid_date: "Data de vencimento inválida",
  time_barred: "Dívida prescrita (vencida há mais de 5 anos)",
  duplicate: "Linha duplicada (mesmo CPF/CNPJ e fatura)",
  too_many_invoices: "Limite de faturas por cliente atingido",
  case_closed: "Caso do cliente encerrado nesta campanha",
  unreadable_row: "Linha ilegível (aspas sem fechar ou linha longa demais)",
};
export const number = new Intl.NumberFormat("pt-BR");
/** "1 linha rejeitada" / "2 linhas rejeitadas": a count with its noun in the right number. */
export const pluralize = (n, singular, plural) => `${number.format(n)} ${n === 1 ? singular : plural}`;
export const money = new Intl.NumberFormat("pt-BR", { style: "currency", currency: "BRL" });
export const percent = new Intl.NumberFormat("pt-BR", { minimumFractionDigits: 1, maximumFractionDigits: 1 });
export const dateTime = new Intl.DateTimeFormat("pt-BR", { dateStyle: "short", timeStyle: "short", timeZone: ZONE });

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** Build an element; children are nodes or text (never parsed as HTML). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const fmtDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : "—");
export const fmtDate = (isoDate) => (isoDate ? isoDate.split("-").reverse().join("/") : "—");
export const fmtPercent = (value) => `${percent.format(Number(value))}%`;
/** "R$ 1.234,56" from the API's decimal string (a plain space, as the finance team writes it). */
export const fmtMoney = (value) => money.format(Number(value)).replace(/\s/u, " ");
/** The money KPIs, as the overview cards and a campaign's page show them. */
export const MONEY = [
  ["amountInCollection", "Em cobrança"],
  ["amountPromised", "Valor prometido"],
  ["amountKept", "Valor cumprido"],
  ["amountRecovered", "Recuperado após contato"],
  ["amountSelfCured", "Pago sem contato"],
];
export const badge = (kind, value, labels) => h("span", { class: `badge ${kind}-${value}` }, labels[value] ?? value);

// What an API refusal means, in the team's words, by the API's error `code` (the API's own sentence is
// English, for engineers: it stays on the error as `detail`); otherwise by HTTP status.
export const API_ERROR = {
  not_found: "Registro não encontrado.",
  conflict: "A operação conflita com o estado atual. Atualize a página e tente de novo.",
  transition_conflict: "O caso mudou enquanto você agia. Atualize a página e tente de novo.",
  conversation_taken: "Outra pessoa já assumiu esta conversa.",
  chat_taken: "Outra pessoa já atende este cliente no WhatsApp.",
  conversation_changed: "A conversa mudou enquanto você agia. Atualize a página.",
  message_changed: "A mensagem mudou enquanto você agia. Atualize a página.",
  not_retryable: "Esta mensagem não pode ser reenviada.",
  opted_out: "O cliente pediu para não ser mais contatado: só é possível responder depois que ele escrever de novo.",
  whatsapp_window_closed: "A janela de 24 h do WhatsApp está fechada: o cliente precisa responder antes de você enviar texto livre. Fora da janela, só modelos aprovados.",
  not_editable: "Este item não pode mais ser editado.",
  case_open: "O caso ainda está em andamento: o resultado é definido pelo sistema até ele ser concluído.",
  empty_text: "Escreva a mensagem antes de enviar.",
  text_too_long: "A mensagem passa do limite de 4.096 caracteres.",
  invalid_input: "Dados inválidos. Confira os campos e tente de novo.",
  invalid_channels: "Canais de contato inválidos.",
  invalid_weekdays: "Dias da semana inválidos.",
  invalid_period: "Período inválido.",
  invalid_window: "Janela de horário inválida.",
  window_never_opens: "A janela de horário nunca abre nos dias escolhidos.",
  invalid_time: "Horário inválido.",
  invalid_cap: "Limite de contatos inválido.",
  invalid_cursor: "Página inválida: volte ao início da lista.",
  invalid_limit: "Tamanho de página inválido.",
  invalid_year: "Ano inválido.",
  invalid_date: "Data inválida.",
  date_in_past: "A data já passou.",
  date_too_far: "A data está longe demais.",
  invalid_amount: "Valor inválido.",
  amount_above_total: "O valor passa do total em aberto.",
  invalid_document: "CPF/CNPJ inválido.",
  invalid_phone: "Telefone inválido.",
  document_mismatch: "O CPF/CNPJ não corresponde a este cliente.",
  duplicate: "Já existe um registro igual.",
  whatsapp_templates_missing: "Faltam modelos aprovados do WhatsApp para algumas etapas da campanha.",
  unsupported_file_type: "Tipo de arquivo não suportado: envie CSV ou XLSX.",
  invalid_spreadsheet: "A planilha não pôde ser lida.",
  empty_file: "O arquivo está vazio.",
  file_too_large: "O arquivo passa do limite de envio pelo painel: divida a planilha em partes menores.",
  corrupt_file: "O arquivo está danificado ou incompleto: salve-o de novo e envie outra vez.",
  missing_columns: "Faltam colunas obrigatórias na planilha (nome, telefone, CPF/CNPJ e valor).",
  no_header: "A planilha não tem um cabeçalho reconhecível: a primeira linha deve nomear as colunas (nome, telefone, CPF, valor), separadas por ponto e vírgula, vírgula ou tabulação.",
  evolution_unavailable: "O WhatsApp está indisponível agora. Tente de novo em instantes.",
  evolution_rejected: "O WhatsApp recusou o envio.",
  instance_disconnected: "O número de WhatsApp está desconectado.",
  channel_paused: "O envio pelo WhatsApp está pausado.",
  not_on_whatsapp: "Este número não tem WhatsApp.",
  crm_unavailable: "O sistema de cobrança (ERP) está indisponível agora.",
  twilio_unavailable: "A telefonia está indisponível agora.",
  service_unavailable: "Um serviço externo está indisponível agora. Tente de novo em instantes.",
  rate_limited: "Muitas solicitações: aguarde um pouco e tente de novo.",
  config_error: "Configuração incompleta no servidor: avise a equipe técnica.",
};
export const STATUS_ERROR = {
  400: "Pedido inválido.",
  403: "Seu perfil não permite esta ação.",
  404: "Registro não encontrado.",
  409: "A operação conflita com o estado atual. Atualize a página e tente de novo.",
  413: "O arquivo ou texto é grande demais.",
  422: "Dados inválidos. Confira os campos e tente de novo.",
  429: "Muitas solicitações: aguarde um pouco e tente de novo.",
  503: "Serviço indisponível agora. Tente de novo em instantes.",
};
