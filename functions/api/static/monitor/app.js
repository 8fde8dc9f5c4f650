// Monitor de Cobranças — the supervisor dashboard. Vanilla ES module, no build step.
// Every data call goes to the API with the bearer token; lists are paged by the server
// (`X-Next-Cursor`), so the page never fetches everything.

import {
  api, finishCognito, getJson, onUnauthorized, query, redirectUri, sendJson, setToken, startCognito,
  token, upload,
} from "/voice/monitor/api.js";
import {
  $, $$, CALL_DISPOSITION, CAMPAIGN_STATUS, CHANNEL, CONTACT_METHOD, CONVERSATION_STATUS, DELIVERY, FIELD_LABEL, IMPORT_ERROR, KPI,
  MESSAGE_STEP, OUTCOME,
  PAYMENT_METHOD, PROMISE_STATUS, REPLY_BLOCKED, REPLY_BLOCKED_TAG, SENDER, SOURCE_LABEL, TARGET_STATE, UNLOCK_STATUS, WEEKDAY, badge, fmtDate,
  fmtDateTime,
  fmtMoney, fmtPercent, h, MONEY, money, number, percent, pluralize,
} from "/voice/monitor/labels.js";

const PAGE_SIZE = 25;
const ROLE_RANK = { viewer: 1, supervisor: 2, admin: 3 };
// Where a domain error of the campaign form belongs.
const ERROR_FIELD = {
  invalid_channels: "fallbackOrder", invalid_weekdays: "weekdays", invalid_time: "scheduleStart",
  invalid_window: "scheduleEnd", window_never_opens: "scheduleEnd",
  whatsapp_templates_missing: "whatsappTemplates",
};

const session = { config: null, me: null, metricsTimer: null };

// ---------------------------------------------------------------- helpers

function toast(message) {
  const box = $("#toast");
  box.textContent = message;
  box.classList.add("visible");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove("visible"), 4000);
}

function canDo(minRole) {
  return (ROLE_RANK[session.me?.role] ?? 0) >= ROLE_RANK[minRole];
}

function applyRole(root) {
  for (const el of $$("[data-min-role]", root)) el.hidden = !canDo(el.dataset.minRole);
}

// ---------------------------------------------------------------- API

function reportError(error) {
  if (error.status !== 401) toast(error.meaning ?? error.message);
}

// ---------------------------------------------------------------- sign-in

function showLogin(message = "") {
  stopMetrics();
  $("#app").hidden = true;
  $("#login").hidden = false;
  const cognito = Boolean(session.config?.cognito);
  $("#token-form").hidden = cognito;
  $("#cognito-login").hidden = !cognito;
  $("#login-error").textContent = message;
  (cognito ? $("#cognito-button") : $("#token-input")).focus();
}

function signOut(message = "") {
  setToken(null);
  session.me = null;
  showLogin(message);
}

/** Show the dashboard to the signed-in caller; `moveFocus` puts the keyboard on the page's heading. */
async function enter(moveFocus = false) {
  const response = await api("/api/me");
  session.me = await response.json();
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#whoami").textContent = { viewer: "Leitura", supervisor: "Supervisão", admin: "Administração" }[session.me.role];
  applyRole($("nav"));
  startMetrics();
  if (!location.hash) history.replaceState(null, "", "#/painel");
  render(moveFocus);
}

function wireLogin() {
  $("#token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = $("#token-input").value.trim();
    if (!value) return;
    setToken(value);
    $("#token-input").value = "";
    try {
      await enter(true);
    } catch (error) {
      setToken(null);
      showLogin(error.status === 401 ? "Token inválido. Confira e tente de novo." : error.message);
    }
  });
  $("#cognito-button").addEventListener("click", () => startCognito(session.config.cognito));
  $("#logout").addEventListener("click", () => {
    const cognito = session.config?.cognito;
    signOut();
    if (cognito) location.assign(`${cognito.domain}/logout?${query({ client_id: cognito.clientId, logout_uri: redirectUri() })}`);
  });
}

// ---------------------------------------------------------------- live cards

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text; // aria-live announces changes only
}

function formatMetric(el, value) {
  if (el.dataset.format === "money") return fmtMoney(value);
  if (el.dataset.format === "percent" || PERCENT_METRICS.has(el.dataset.metric)) return fmtPercent(value);
  return number.format(value);
}
const PERCENT_METRICS = new Set(["conversionRate", "shortCallShareToday"]);

async function refreshMetrics() {
  const { data } = await getJson("/api/voice/metrics");
  for (const el of $$("[data-metric]")) {
    const value = data[el.dataset.metric];
    setText(el, formatMetric(el, value));
  }
  const banner = $("#channel-banner");
  const channel = data.whatsappChannel;
  banner.hidden = !channel.blocked;
  setText(banner, channel.blocked ? `WhatsApp pausado: ${channel.message}` : "");
  setText($("#alert-count"), number.format(data.pendingPromises));
  $("#alert-badge").setAttribute("aria-label", `${data.pendingPromises} promessas pendentes`);
}

/** The desk's waiting count, in the top bar of every screen. */
async function refreshQueueCount() {
  const { data } = await getJson(`/api/voice/conversations/queue?${query({ limit: 1 })}`);
  setText($("#queue-count"), number.format(data.waiting));
  $("#queue-link").setAttribute("aria-label", `Fila de atendimento: ${pluralize(data.waiting, "cliente aguardando", "clientes aguardando")}`);
}

function startMetrics() {
  stopMetrics();
  const tick = async () => {
    if (!document.hidden) await Promise.all([refreshMetrics(), refreshQueueCount()]).catch(() => {});
    if (session.me) session.metricsTimer = setTimeout(tick, session.config.pollSeconds * 1000);
  };
  tick();
}

function stopMetrics() {
  clearTimeout(session.metricsTimer);
  session.metricsTimer = null;
}

// ---------------------------------------------------------------- paging

/** A server-paged table: `url(cursor)` names a page, `row(item)` draws one item. Keeps the cursors
 * seen so "Página anterior" works too; only the latest request is drawn, so a quick change of filter
 * never shows a stale page. */
function pagedTable(root, { url, row, columns, empty, items = (body) => body }) {
  const state = { cursors: [null], index: 0, next: null, ticket: 0 };
  const rows = $("[data-rows]", root);
  const prev = $('[data-page="prev"]', root);
  const next = $('[data-page="next"]', root);
  const info = $("[data-page-info]", root);
  const show = async () => {
    const ticket = ++state.ticket;
    rows.closest("table").setAttribute("aria-busy", "true");
    const page = await getJson(url(state.cursors[state.index]));
    if (ticket !== state.ticket) return;
    rows.closest("table").removeAttribute("aria-busy");
    const data = items(page.data);
    if (data.length) rows.replaceChildren(...data.map(row));
    else emptyRow(rows, columns, empty);
    state.next = page.next;
    prev.disabled = state.index === 0;
    next.disabled = !state.next;
    info.textContent = `Página ${state.index + 1}`;
  };
  prev.addEventListener("click", () => {
    state.index = Math.max(0, state.index - 1);
    show().catch(reportError);
  });
  next.addEventListener("click", () => {
    if (!state.next) return;
    state.cursors[state.index + 1] = state.next;
    state.index += 1;
    show().catch(reportError);
  });
  return {
    reset: () => {
      state.cursors = [null];
      state.index = 0;
      return show().catch(reportError);
    },
    reload: () => show().catch(reportError),
  };
}

function actionsCell(...children) {
  return h("td", {}, h("div", { class: "row-actions" }, ...children));
}

function emptyRow(table, columns, text) {
  table.replaceChildren(h("tr", {}, h("td", { colspan: columns, class: "empty" }, text)));
}

function pressOnly(group, button) {
  for (const b of $$("button", group)) b.setAttribute("aria-pressed", String(b === button));
}

// ---------------------------------------------------------------- conversations

function handoffButton(conversation, onChange) {
  if (!canDo("supervisor") || conversation.status === "resolved") return null;
  const transfer = conversation.status === "ai";
  const label = transfer ? "Transferir" : "Devolver à IA";
  return h("button", {
    type: "button",
    class: transfer ? "" : "ghost",
    "aria-label": `${label}: ${conversation.clientName ?? conversation.phoneNumber}`,
    onclick: async (event) => {
      event.currentTarget.disabled = true;
      try {
        const updated = await sendJson(`/api/voice/conversations/${conversation.id}/${transfer ? "transfer" : "release"}`, "POST");
        toast(transfer ? "Conversa transferida para atendimento humano." : "Conversa devolvida à assistente virtual.");
        onChange(updated);
      } catch (error) {
        event.currentTarget.disabled = false;
        reportError(error);
      }
    },
  }, label);
}

function conversationRow(conversation) {
  const row = h("tr", { "data-id": conversation.id },
    h("td", {}, conversation.clientName ?? "—", h("div", { class: "muted small" }, conversation.phoneNumber)),
    h("td", { class: "mono" }, conversation.clientDocument ?? "—"),
    h("td", {}, badge("source", conversation.conversationSource, SOURCE_LABEL)),
    h("td", {}, badge("status", conversation.status, CONVERSATION_STATUS)),
    h("td", {}, fmtDateTime(conversation.lastActivityAt)),
    actionsCell(
      h("a", { href: `#/conversas/${conversation.id}`, "aria-label": `Ver detalhes: ${conversation.clientName ?? conversation.phoneNumber}` }, "Ver detalhes"),
      handoffButton(conversation, (updated) => row.replaceWith(conversationRow(updated)))),
  );
  return row;
}

function viewPainel(root) {
  const filters = { source: "", status: "" };
  const pages = pagedTable(root, {
    url: (cursor) => `/api/voice/conversations?${query({ ...filters, limit: PAGE_SIZE, cursor })}`,
    row: conversationRow,
    columns: 6,
    empty: "Nenhuma conversa encontrada.",
  });
  const group = $(".segmented", root);
  group.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-source]");
    if (!button) return;
    filters.source = button.dataset.source;
    pressOnly(group, button);
    pages.reset();
  });
  $('select[name="status"]', root).addEventListener("change", (event) => {
    filters.status = event.target.value;
    pages.reset();
  });
  $('[data-action="refresh"]', root).addEventListener("click", () => pages.reload());
  pages.reset();
}

// The conversation's desk buttons, each shown (to a supervisor) once the conversation is loaded and its
// click wired, and only where it applies.
const DESK_ACTIONS = {
  transfer: { shown: (c) => c.status === "ai", done: "Conversa transferida para atendimento humano." },
  take: { shown: (c) => c.status !== "resolved" && !c.assignee, done: "Conversa assumida." },
  resolve: { shown: (c) => c.status === "transferred", done: "Conversa resolvida." },
  release: { shown: (c) => c.status === "transferred", done: "Conversa devolvida à assistente virtual." },
};

async function viewConversa(root, id) {
  const conversation = (await getJson(`/api/voice/conversations/${encodeURIComponent(id)}`)).data;
  const voice = conversation.channel === "voice";
  const reload = () => viewConversa(root, id);
  $("#thread-title", root).textContent = conversation.clientName ?? "Conversa";
  $("[data-thread-title]", root).textContent = voice ? "Transcrição da chamada" : "Mensagens";
  const pairs = [
    ["CPF/CNPJ", conversation.clientDocument ?? "—"],
    ["Telefone", conversation.phoneNumber],
    ["Origem", badge("source", conversation.conversationSource, SOURCE_LABEL)],
    ["Status IA", badge("status", conversation.status, CONVERSATION_STATUS)],
    ["Responsável", conversation.assignee ?? "—"],
    ["Identidade confirmada", conversation.identityConfirmed ? "Sim" : "Não"],
    ["Última atividade", fmtDateTime(conversation.lastActivityAt)],
    // The disclosure log comes only for supervisors and admins (null for viewers).
    ...(conversation.disclosures ? [["Dados revelados", disclosureList(conversation.disclosures)]] : []),
  ];
  if (conversation.handoffReason && conversation.status === "transferred") pairs.splice(4, 0, ["Motivo da transferência", conversation.handoffReason]);
  if (conversation.resolvedBy) pairs.push(["Resolvida por", `${conversation.resolvedBy} em ${fmtDateTime(conversation.resolvedAt)}`]);
  if (conversation.recordingSid) pairs.push(["Gravação", recordingBadge(conversation)]);
  if (conversation.callDisposition) pairs.push(["Resultado da chamada", badge("disposition", conversation.callDisposition, CALL_DISPOSITION)]);
  $("[data-facts]", root).replaceChildren(...facts(pairs));
  const summary = $("[data-call-summary]", root);
  summary.hidden = !conversation.callSummary;
  $("[data-call-summary-text]", root).textContent = conversation.callSummary ?? "";
  const thread = $("[data-thread]", root);
  const item = (message) => messageItem(message, conversation.id, reload);
  if (conversation.messages.length) thread.replaceChildren(...conversation.messages.map(item));
  else thread.replaceChildren(h("li", { class: "empty" }, "Nenhuma mensagem ainda."));
  for (const [action, { shown, done }] of Object.entries(DESK_ACTIONS)) {
    const button = $(`[data-action="${action}"]`, root);
    button.hidden = !canDo("supervisor") || !shown(conversation);
    button.onclick = async () => {
      button.disabled = true;
      try {
        await sendJson(`/api/voice/conversations/${conversation.id}/${action}`, "POST");
        toast(done);
        await reload();
        refreshQueueCount().catch(() => {});
      } catch (error) {
        reportError(error);
      } finally {
        button.disabled = false;
      }
    };
  }
  wireDebt(root, conversation, reload);
  wireReply(root, conversation, reload);
  wirePromise(root, conversation, reload);
}

/** What the CRM last showed of the customer's debt, and when — a customer held at the desk may have paid
 * at the bank since: the agent must not collect what she paid. "Verificar pagamento no CRM" (a
 * supervisor's) asks the CRM now; a payment closes her cases, and the view shows what is left. */
function wireDebt(root, conversation, reload) {
  const panel = $("[data-debt]", root);
  const debt = conversation.debt;
  panel.hidden = !debt;
  if (!debt) return;
  $("[data-debt-summary]", panel).replaceChildren(...debtSummary(debt));
  const check = $('[data-action="payment-check"]', panel);
  check.hidden = !canDo("supervisor");
  check.onclick = async () => {
    check.disabled = true;
    try {
      const fresh = await sendJson(`/api/voice/conversations/${conversation.id}/payment-check`, "POST");
      toast(fresh.settled ? "Pagamento confirmado no CRM: nada em aberto." : "Débito verificado no CRM.");
      await reload();
    } catch (error) {
      reportError(error);
    } finally {
      check.disabled = false;
    }
  };
}

function debtSummary(debt) {
  if (!debt.cases.length) return ["Nenhum caso de cobrança em aberto para este cliente."];
  const when = debt.checkedAt ? `verificado no CRM em ${fmtDateTime(debt.checkedAt)}` : "ainda não verificado no CRM";
  if (debt.settled) {
    return [h("span", { class: "badge debt-paid" }, "Pago"),
      ` Nada em aberto: o cliente pagou ${fmtMoney(debt.paidAmount)} (${when}). Não cobre este cliente.`];
  }
  const paid = Number(debt.paidAmount) > 0 ? ` · ${fmtMoney(debt.paidAmount)} já pago` : "";
  return [h("span", { class: "badge debt-open" }, "Em aberto"), ` ${fmtMoney(debt.openAmount)} em aberto${paid} (${when}).`];
}

/** The agent records the customer's promise (amount as typed, the day): shown while the customer is
 * known, and only once its submit is wired here (not by the role alone when the view renders, or a quick
 * click would submit the form natively, reloading the page); the API applies the assistant's rules and
 * answers 422/409 with why. */
function wirePromise(root, conversation, reload) {
  const form = $("[data-promise-form]", root);
  const status = $("[data-promise-status]", form);
  form.hidden = !canDo("supervisor") || !conversation.clientDocument;
  form.onsubmit = async (event) => {
    event.preventDefault();
    const submit = $('button[type="submit"]', form);
    submit.disabled = true;
    try {
      const promise = await sendJson(`/api/voice/conversations/${conversation.id}/promises`, "POST", {
        amount: form.elements.amount.value,
        dueDate: form.elements.dueDate.value,
      });
      form.reset();
      await reload();
      status.textContent = `Promessa registrada: ${fmtMoney(promise.amount)} até ${fmtDate(promise.dueDate)}.`;
    } catch (error) {
      status.textContent = `A promessa não foi registrada: ${error.message}`;
      submit.disabled = false;
    }
  };
}

/** A recorded call's badge: Twilio keeps the audio; the dashboard names the recording and its length. */
function recordingBadge(conversation) {
  const seconds = conversation.recordingSeconds;
  const length = seconds == null ? "" : ` (${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s)`;
  return h("span", { class: "badge recording", title: conversation.recordingSid }, `Chamada gravada${length}`);
}

/** The agent's reply box, shown to a supervisor once its submit is wired here (like the promise form:
 * not by the role when the view renders, or a quick click on "Enviar" would submit it natively,
 * reloading the page). Enter sends, Shift+Enter breaks the line; the status line says sending, sent or
 * failed (a failed message stays in the thread with "Reenviar"). While the desk cannot reply
 * (`replyBlockedReason`: the customer opted out and has not written since; on the Cloud API, no 24 h
 * window) the hint says why and "Enviar" is disabled. */
function wireReply(root, conversation, reload) {
  const form = $("[data-reply-form]", root);
  const text = $("textarea", form);
  const status = $("[data-reply-status]", form);
  const submit = $('button[type="submit"]', form);
  const reason = conversation.replyBlockedReason;
  const blocked = $("[data-reply-blocked]", form);
  blocked.hidden = !reason;
  blocked.textContent = reason ? REPLY_BLOCKED[reason] ?? reason : "";
  form.dataset.blocked = reason ? "true" : "false";
  submit.disabled = Boolean(reason);
  const say = (state, message) => {
    status.dataset.state = state;
    status.textContent = message;
  };
  text.onkeydown = (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  };
  form.onsubmit = async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    if (!text.value.trim()) {
      say("failed", "Escreva a mensagem antes de enviar.");
      text.focus();
      return;
    }
    submit.disabled = true;
    text.setAttribute("aria-busy", "true");
    say("sending", "Enviando…");
    try {
      await sendJson(`/api/voice/conversations/${conversation.id}/messages`, "POST", { text: text.value });
      text.value = "";
      await reload();
      say("sent", "Mensagem enviada.");
      refreshQueueCount().catch(() => {});
    } catch (error) {
      const detail = error.status === 503 ? "o WhatsApp está indisponível" : error.message;
      if (error.status === 503) await reload().catch(() => {});
      say("failed", `A mensagem não foi enviada: ${detail}. Ela ficou na conversa como “falhou”; use “Reenviar”.`);
      if (error.status !== 503) reportError(error);
    } finally {
      submit.disabled = form.dataset.blocked === "true"; // as the reload left it
      text.removeAttribute("aria-busy");
      text.focus();
    }
  };
  form.hidden = !canDo("supervisor");
}

function messageItem(message, conversationId, reload) {
  const who = SENDER[message.sender] ?? message.sender;
  const meta = [message.author && message.sender === "agent" ? `${who} (${message.author})` : who, fmtDateTime(message.createdAt), CHANNEL[message.channel]];
  if (message.isFromCampaign) meta.push("campanha");
  if (message.deliveryStatus) meta.push(DELIVERY[message.deliveryStatus] ?? message.deliveryStatus);
  const failed = message.sender === "agent" && message.deliveryStatus === "failed";
  const retry = failed && canDo("supervisor") ? h("button", {
    type: "button",
    class: "ghost",
    "aria-label": `Reenviar a mensagem: ${message.content.slice(0, 40)}`,
    onclick: async (event) => {
      event.currentTarget.disabled = true;
      try {
        await sendJson(`/api/voice/conversations/${conversationId}/messages/${message.id}/retry`, "POST");
        toast("Mensagem reenviada.");
      } catch (error) {
        reportError(error);
      }
      await reload();
    },
  }, "Reenviar") : null;
  return h("li", { class: `message from-${message.sender}${failed ? " message-failed" : ""}` },
    h("p", { class: "message-meta" }, meta.join(" · ")),
    h("p", { class: "message-text" }, message.content),
    retry);
}

const DISCLOSED = {
  faturas: "faturas",
  codigo_pagamento: "código de pagamento",
  promessa: "promessa",
  status_pagamento: "status do pagamento",
};

function disclosureList(entries) {
  if (!entries.length) return "Nenhum";
  return h("ul", { class: "disclosures" }, ...entries.map((entry) =>
    h("li", {}, `${DISCLOSED[entry.what] ?? entry.what} · ${entry.phoneNumber} · ${fmtDateTime(entry.at)}`)));
}

function facts(pairs) {
  return pairs.map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value)));
}

// ---------------------------------------------------------------- the desk's queue

function fmtWait(seconds) {
  const minutes = Math.floor(seconds / 60);
  if (minutes < 1) return "menos de 1 min";
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ${String(minutes % 60).padStart(2, "0")} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** The customer's debt on the waiting conversation's case, as the conversation's "Débito do cliente"
 * says it: "Pago", or what is still open; nothing without a known customer. */
function queueDebt(debt) {
  if (!debt) return ["—"];
  if (debt.settled) return [h("span", { class: "badge debt-paid" }, "Pago")];
  return [`${fmtMoney(debt.openAmount)} em aberto`];
}

function queueRow(entry, onChange) {
  const name = entry.clientName ?? entry.phoneNumber;
  const take = canDo("supervisor") && !entry.assignee ? h("button", {
    type: "button",
    "aria-label": `Assumir: ${name}`,
    onclick: async (event) => {
      event.currentTarget.disabled = true;
      try {
        await sendJson(`/api/voice/conversations/${entry.id}/take`, "POST");
        toast("Conversa assumida.");
        location.hash = `#/conversas/${entry.id}`;
      } catch (error) {
        event.currentTarget.disabled = false;
        reportError(error);
        onChange();
      }
    },
  }, "Assumir") : null;
  return h("tr", { "data-id": entry.id },
    h("td", {}, name, h("div", { class: "muted small" }, entry.phoneNumber)),
    h("td", {}, entry.reason, entry.replyBlockedReason
      ? h("div", { class: "muted small", "data-reply-blocked": "" }, REPLY_BLOCKED_TAG[entry.replyBlockedReason] ?? entry.replyBlockedReason)
      : null),
    h("td", { "data-queue-debt": "" }, ...queueDebt(entry.debt)),
    h("td", {}, fmtWait(entry.waitingSeconds)),
    h("td", {}, entry.assignee ?? "—"),
    actionsCell(h("a", { href: `#/conversas/${entry.id}`, "aria-label": `Abrir conversa: ${name}` }, "Abrir conversa"), take),
  );
}

function viewFila(root) {
  const times = $("[data-reply-times]", root);
  const pages = pagedTable(root, {
    url: (cursor) => `/api/voice/conversations/queue?${query({ limit: PAGE_SIZE, cursor })}`,
    row: (entry) => queueRow(entry, () => pages.reload()),
    columns: 6,
    empty: "Nenhum cliente aguardando atendimento.",
    items: (body) => {
      const first = body.firstHumanReply;
      times.textContent = first.count
        ? `Tempo até a primeira resposta humana: mediana ${first.medianMinutes} min · p90 ${first.p90Minutes} min (${pluralize(first.count, "atendimento", "atendimentos")}).`
        : "Ainda não há tempo de primeira resposta medido.";
      setText($("#queue-count"), number.format(body.waiting));
      return body.items;
    },
  });
  $('[data-action="refresh"]', root).addEventListener("click", () => pages.reload());
  pages.reset();
}

// ---------------------------------------------------------------- the conversations people hold

function heldRow(entry, onChange) {
  const name = entry.clientName ?? entry.phoneNumber;
  const act = (action, label, done) => h("button", {
    type: "button",
    class: action === "release" ? "ghost" : "",
    "aria-label": `${label}: ${name}`,
    onclick: async (event) => {
      event.currentTarget.disabled = true;
      try {
        await sendJson(`/api/voice/conversations/${entry.id}/${action}`, "POST");
        toast(done);
      } catch (error) {
        reportError(error);
      }
      onChange();
    },
  }, label);
  const actions = canDo("supervisor")
    ? [act("resolve", "Resolver", "Conversa resolvida."), act("release", "Devolver à IA", "Conversa devolvida à IA.")]
    : [];
  return h("tr", { "data-id": entry.id },
    h("td", {}, name, h("div", { class: "muted small" }, entry.phoneNumber)),
    h("td", {}, entry.assignee ?? "ninguém ainda"),
    h("td", {}, fmtWait(entry.heldSeconds)),
    h("td", {}, fmtWait(entry.idleSeconds),
      entry.waitingSeconds !== null ? h("div", { class: "muted small" }, "cliente aguardando resposta") : null),
    actionsCell(h("a", { href: `#/conversas/${entry.id}`, "aria-label": `Abrir conversa: ${name}` }, "Abrir conversa"), ...actions),
  );
}

function viewEmAtendimento(root) {
  const count = $("[data-held-count]", root);
  const pages = pagedTable(root, {
    url: (cursor) => `/api/voice/conversations/held?${query({ limit: PAGE_SIZE, cursor })}`,
    row: (entry) => heldRow(entry, () => pages.reload()),
    columns: 5,
    empty: "Nenhuma conversa com a equipe.",
    items: (body) => {
      count.textContent = `${pluralize(body.held, "conversa", "conversas")} com a equipe, as paradas há mais tempo primeiro.`;
      return body.items;
    },
  });
  $('[data-action="refresh"]', root).addEventListener("click", () => pages.reload());
  pages.reset();
}

// ---------------------------------------------------------------- campaigns

function scheduleText(campaign) {
  const days = campaign.weekdays.map((d) => WEEKDAY[d]).join(", ");
  return `${campaign.scheduleStart}–${campaign.scheduleEnd} · ${days}`;
}

function statusButtons(campaign, onChange) {
  if (!canDo("supervisor")) return [];
  const make = (action, label) => h("button", {
    type: "button",
    class: action === "pause" ? "ghost" : "",
    "aria-label": `${label} a campanha ${campaign.name}`,
    onclick: async (event) => {
      event.currentTarget.disabled = true;
      try {
        const result = await sendJson(`/api/voice/campaigns/${campaign.id}/${action}`, "POST");
        toast(action === "activate" ? "Campanha ativada." : "Campanha pausada.");
        onChange(result.campaign);
      } catch (error) {
        event.currentTarget.disabled = false;
        reportError(error);
      }
    },
  }, label);
  if (campaign.status === "draft" || campaign.status === "paused") return [make("activate", "Ativar")];
  if (campaign.status === "active") return [make("pause", "Pausar")];
  return [];
}

function campaignRow(campaign) {
  const row = h("tr", { "data-id": campaign.id },
    h("td", {}, h("a", { href: `#/campanhas/${campaign.id}` }, campaign.name)),
    h("td", {}, badge("campaign", campaign.status, CAMPAIGN_STATUS)),
    h("td", {}, CONTACT_METHOD[campaign.contactMethod] ?? campaign.contactMethod),
    h("td", {}, scheduleText(campaign)),
    h("td", {}, fmtDateTime(campaign.createdAt)),
    actionsCell(statusButtons(campaign, (updated) => row.replaceWith(campaignRow(updated)))),
  );
  return row;
}

function viewCampanhas(root) {
  const pages = pagedTable(root, {
    url: (cursor) => `/api/voice/campaigns?${query({ limit: PAGE_SIZE, cursor })}`,
    row: campaignRow,
    columns: 6,
    empty: "Nenhuma campanha ainda.",
  });
  const form = $("#campaign-form", root);
  const toggle = $('[data-action="new-campaign"]', root);
  const setOpen = (open) => {
    form.hidden = !open;
    toggle.setAttribute("aria-expanded", String(open));
    if (open) {
      $("#f-name", form).focus();
      loadWhatsAppTemplates(form);
    }
  };
  toggle.addEventListener("click", () => setOpen(form.hidden));
  $('[data-action="cancel-campaign"]', form).addEventListener("click", () => {
    setOpen(false);
    toggle.focus();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(form);
    const submit = $('button[type="submit"]', form);
    submit.disabled = true;
    try {
      const created = await sendJson("/api/voice/campaigns", "POST", campaignBody(form));
      toast(`Campanha “${created.name}” criada.`);
      form.reset();
      setOpen(false);
      location.hash = `#/campanhas/${created.id}`;
    } catch (error) {
      showFormErrors(form, error);
    } finally {
      submit.disabled = false;
    }
  });
  pages.reset();
}

function campaignBody(form) {
  const data = new FormData(form);
  const body = {
    name: data.get("name"),
    contactMethod: data.get("contactMethod"),
    allowedMethods: data.getAll("allowedMethods"),
    scheduleStart: data.get("scheduleStart"),
    scheduleEnd: data.get("scheduleEnd"),
    weekdays: data.getAll("weekdays").map(Number),
  };
  if (data.get("fallbackOrder")) body.fallbackOrder = data.get("fallbackOrder").split(",");
  if (data.get("maxAttemptsPerChannel")) body.maxAttemptsPerChannel = Number(data.get("maxAttemptsPerChannel"));
  body.trustUnlock = data.get("trustUnlock") === "true";
  if (data.get("followUpAfterDays")) body.followUpAfterDays = Number(data.get("followUpAfterDays"));
  if (data.get("maxContacts")) body.maxContacts = Number(data.get("maxContacts"));
  const messages = {};
  for (const step of Object.keys(MESSAGE_STEP)) {
    const text = (data.get(`messages.${step}`) ?? "").trim();
    if (text) messages[step] = text;
  }
  if (Object.keys(messages).length) body.messages = messages;
  const templates = {};
  for (const step of Object.keys(MESSAGE_STEP)) {
    const chosen = data.get(`whatsappTemplates.${step}`);
    if (chosen) templates[step] = JSON.parse(chosen);
  }
  if (Object.keys(templates).length) body.whatsappTemplates = templates;
  body.voicemailDrop = data.get("voicemailDrop") === "true";
  body.recordCalls = data.get("recordCalls") === "true";
  return body;
}

// The instance's approved templates (GET /api/voice/whatsapp/templates), offered for each step.
async function loadWhatsAppTemplates(form) {
  const status = $("[data-wa-templates-status]", form);
  let templates;
  try {
    templates = (await getJson("/api/voice/whatsapp/templates")).data.filter((t) => t.status === "APPROVED");
  } catch (error) {
    status.textContent = `Lista de modelos indisponível (${error.message}).`;
    return;
  }
  status.textContent = templates.length ? "" : "Nenhum modelo aprovado nesta instância.";
  for (const step of Object.keys(MESSAGE_STEP)) {
    const select = form.elements[`whatsappTemplates.${step}`];
    const keep = select.value;
    select.replaceChildren(h("option", { value: "" }, "—"), ...templates.map((t) =>
      h("option", { value: JSON.stringify({ name: t.name, language: t.language }), title: t.body ?? "" },
        `${t.name} (${t.language})`)));
    select.value = keep;
  }
}

function clearFormErrors(form) {
  $("[data-form-error]", form).textContent = "";
  for (const el of $$("[data-error-for]", form)) el.textContent = "";
  for (const el of $$("[aria-invalid]", form)) el.removeAttribute("aria-invalid");
}

function showFormErrors(form, error) {
  const fields = { ...error.fields };
  if (error.code && ERROR_FIELD[error.code]) fields[ERROR_FIELD[error.code]] = error.message;
  const elsewhere = Object.entries(fields).filter(([name]) => !$(`[data-error-for="${name}"]`, form));
  const extra = elsewhere.map(([name, message]) => ` ${name}: ${message}.`).join("");
  $("[data-form-error]", form).textContent = `A campanha não foi criada: ${error.message}${extra}`;
  let first = null;
  for (const [name, message] of Object.entries(fields)) {
    const slot = $(`[data-error-for="${name}"]`, form);
    if (!slot) continue;
    slot.textContent = message;
    const input = form.elements[name];
    const target = input instanceof RadioNodeList ? input[0] : input;
    target?.setAttribute("aria-invalid", "true");
    first ??= target;
  }
  (first ?? $("[data-form-error]", form)).focus?.();
}

async function viewCampanha(root, id) {
  const path = `/api/voice/campaigns/${encodeURIComponent(id)}`;
  const showCampaign = (campaign) => {
    $("#campaign-title", root).textContent = campaign.name;
    $("[data-facts]", root).replaceChildren(...facts([
      ["Status", badge("campaign", campaign.status, CAMPAIGN_STATUS)],
      ["Método", CONTACT_METHOD[campaign.contactMethod] ?? campaign.contactMethod],
      ["Ordem dos canais", campaign.fallbackOrder.map((c) => CHANNEL[c]).join(" → ")],
      ["Horário", scheduleText(campaign)],
      ["Tentativas por canal", String(campaign.maxAttemptsPerChannel)],
      ["Retomar contato após", `${campaign.followUpAfterDays} dia(s)`],
      ["Contatos por cliente", String(campaign.maxContacts)],
      ["Textos próprios", Object.keys(campaign.messages ?? {}).map((s) => MESSAGE_STEP[s] ?? s).join(", ") || "Padrão"],
      ["Modelos do WhatsApp", Object.entries(campaign.whatsappTemplates ?? {})
        .map(([s, t]) => `${MESSAGE_STEP[s] ?? s}: ${t.name}`).join(", ") || "Nenhum"],
      ["Desbloqueio em confiança", campaign.trustUnlock ? "Sim" : "Não"],
      ["Recado na caixa postal", campaign.voicemailDrop ? "Sim" : "Não"],
      ["Gravar chamadas", campaign.recordCalls ? "Sim" : "Não"],
      ["Criada em", fmtDateTime(campaign.createdAt)],
    ]));
    $("[data-campaign-actions]", root).replaceChildren(...statusButtons(campaign, showCampaign));
  };
  const showStats = async () => showCampaignStats(root, (await getJson(`${path}/stats`)).data);
  // Wired before loading: the form is on screen at once, and a submit before the
  // listener exists would navigate away instead of uploading.
  wireImport(root, id, showStats);
  wireSync(root, id, showStats);
  $('[data-action="export-cases"]', root).addEventListener("click", () =>
    downloadReport(`${path}/export.csv`, "casos.csv").catch(reportError));
  wireTrend(root, path);
  wireCases(root, id);
  const [campaign] = await Promise.all([getJson(path).then((r) => r.data), showStats()]);
  showCampaign(campaign);
}

function showCampaignStats(root, stats) {
  const total = stats.totalTargets;
  const steps = [
    ["Contatados", stats.reached], ["Responderam", stats.responded], ["Prometeram", stats.promised],
    ["Cumpriram", stats.fulfilled], ["Pagaram", stats.paid],
  ];
  const scale = Math.max(total, stats.reached, 1);
  $("[data-funnel]", root).replaceChildren(
    h("li", { class: "funnel-total" }, `Clientes na campanha: ${number.format(total)}`),
    ...steps.map(([label, value]) => {
      const bar = h("span", { class: "funnel-bar" });
      bar.style.width = `${Math.max((value / scale) * 100, value ? 2 : 0)}%`;
      const share = total ? ` (${fmtPercent((value * 100) / total)})` : "";
      return h("li", { class: "funnel-step" },
        h("span", { class: "funnel-label" }, label),
        h("span", { class: "funnel-track", "aria-hidden": "true" }, bar),
        h("span", { class: "funnel-value" }, `${number.format(value)}${share}`));
    }),
  );
  const days = stats.averageDaysToPay === null ? "–" : `${percent.format(Number(stats.averageDaysToPay))} dias`;
  $("[data-money]", root).replaceChildren(...facts([
    ...MONEY.map(([name, label]) => [label, fmtMoney(stats[name])]),
    ["Taxa de recuperação", fmtPercent(stats.recoveryRate)],
    ["Prazo médio de pagamento após o contato", days],
  ]));
  $("[data-kpis]", root).replaceChildren(...stats.kpis.map((kpi) => h("tr", {},
    h("th", { scope: "row" }, KPI[kpi.name] ?? kpi.name),
    h("td", {}, fmtPercent(kpi.value)),
    h("td", {}, `> ${fmtPercent(kpi.goal)}`),
    h("td", {}, kpi.denominator === 0
      ? h("span", { class: "badge kpi-none" }, "Sem dados")
      : h("span", { class: `badge kpi-${kpi.met ? "met" : "missed"}` }, kpi.met ? "Meta atingida" : "Abaixo da meta")),
  )));
  const outcomes = Object.entries(stats.outcomes).filter(([, count]) => count > 0).sort((a, b) => b[1] - a[1]);
  const outcomeRows = $("[data-outcomes]", root);
  if (outcomes.length) {
    outcomeRows.replaceChildren(...outcomes.map(([name, count]) => h("tr", {},
      h("th", { scope: "row" }, OUTCOME[name] ?? name), h("td", {}, number.format(count)))));
  } else emptyRow(outcomeRows, 2, "Nenhum resultado ainda.");
  $("[data-channels]", root).replaceChildren(...facts(
    Object.entries(stats.channels).map(([name, count]) => [CHANNEL[name] ?? name, number.format(count)])));
  $("[data-states]", root).replaceChildren(...facts(
    Object.entries(stats.states).map(([name, count]) => [TARGET_STATE[name] ?? name, number.format(count)])));
}

// ---------------------------------------------------------------- import

function wireImport(root, campaignId, afterImport) {
  const form = $("[data-import-form]", root);
  const progressRow = $("[data-progress]", root);
  const progress = $("progress", progressRow);
  const progressText = $("[data-progress-text]", progressRow);
  const errorBox = $("[data-import-error]", root);
  const result = $("[data-import-result]", root);
  const download = $('[data-action="download-report"]', root);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = $('input[type="file"]', form).files[0];
    if (!file) return;
    errorBox.textContent = "";
    result.hidden = true;
    progressRow.hidden = false;
    const submit = $('button[type="submit"]', form);
    submit.disabled = true;
    try {
      const imported = await upload(`/api/voice/campaigns/${campaignId}/targets/import`, file, (fraction) => {
        progress.value = Math.round(fraction * 100);
        progressText.textContent = `${progress.value}%`;
      });
      const job = (await getJson(`/api/voice/imports/${imported.importId}`)).data;
      showImport(root, imported, job);
      download.onclick = () => downloadReport(job.reportUrl).catch(reportError);
      await afterImport();
    } catch (error) {
      errorBox.textContent = `A planilha não foi importada: ${error.message}`;
    } finally {
      submit.disabled = false;
    }
  });
}

// The ERP sync answers at once for a small sync; a longer one goes on in the background and its job
// is followed until it ends (or the page leaves the campaign).
const SYNC_POLL_MS = 2000;

function wireSync(root, campaignId, afterSync) {
  const form = $("[data-sync-form]", root);
  const status = $("[data-sync-status]", root);
  const errorBox = $("[data-import-error]", root);
  const download = $('[data-action="download-report"]', root);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = syncFilters(new FormData(form));
    errorBox.textContent = "";
    $("[data-import-result]", root).hidden = true;
    const submit = $('button[type="submit"]', form);
    submit.disabled = true;
    status.hidden = false;
    status.textContent = "Sincronizando com o ERP…";
    try {
      let job = await sendJson(`/api/voice/campaigns/${campaignId}/targets/sync`, "POST", body);
      while (job.status === "processing" && root.isConnected) {
        status.textContent = `Sincronizando com o ERP… ${pluralize(job.imported, "fatura importada", "faturas importadas")} até agora`;
        await new Promise((resolve) => setTimeout(resolve, SYNC_POLL_MS));
        job = (await getJson(`/api/voice/imports/${job.id}`)).data;
      }
      status.textContent = job.status === "completed" ? "Sincronização concluída." : `Sincronização: ${job.failure ?? job.status}`;
      showImport(root, job, job);
      download.onclick = () => downloadReport(job.reportUrl).catch(reportError);
      await afterSync();
    } catch (error) {
      status.hidden = true;
      errorBox.textContent = `A sincronização não foi feita: ${error.message}`;
    } finally {
      submit.disabled = false;
    }
  });
}

/** The form's filters as the API takes them: empty fields left out, "1.234,50" as "1234.50". */
function syncFilters(data) {
  const body = { minDaysOverdue: Number(data.get("minDaysOverdue")) };
  const maxDays = data.get("maxDaysOverdue").trim();
  if (maxDays) body.maxDaysOverdue = Number(maxDays);
  const amount = data.get("minAmount").trim();
  if (amount) body.minAmount = amount.includes(",") ? amount.replaceAll(".", "").replace(",", ".") : amount;
  const contractStatus = data.get("contractStatus").trim();
  if (contractStatus) body.contractStatus = contractStatus;
  return body;
}

function showImport(root, imported, job) {
  const result = $("[data-import-result]", root);
  const rejected = job.rejected;
  $("[data-import-summary]", root).textContent = [
    pluralize(imported.imported, "fatura importada", "faturas importadas"),
    pluralize(imported.customersCreated, "cliente novo", "clientes novos"),
    pluralize(imported.customersUpdated, "cliente atualizado", "clientes atualizados"),
    pluralize(imported.duplicates, "duplicado", "duplicados"),
    pluralize(rejected, "linha rejeitada", "linhas rejeitadas"),
  ].join(" · ");
  $('[data-action="download-report"]', root).hidden = !job.reportUrl;
  const table = $("[data-import-errors]", root);
  const body = $("tbody", table);
  table.hidden = imported.errors.length === 0;
  body.replaceChildren(...imported.errors.map((error) => h("tr", {},
    h("td", {}, String(error.line)),
    h("td", {}, FIELD_LABEL[error.field] ?? error.field ?? "—"),
    h("td", {},
      h("span", { class: "reason" }, IMPORT_ERROR[error.code] ?? error.code),
      h("span", { class: "reason-detail", lang: "en" }, error.message)))));
  const shown = imported.errors.length;
  $("caption", table).textContent = shown < rejected + imported.duplicates
    ? `Linhas rejeitadas (as primeiras ${shown}; o relatório tem todas)`
    : "Linhas rejeitadas";
  result.hidden = false;
}

async function downloadReport(url, fallbackName = "linhas-rejeitadas.csv") {
  const response = await api(url);
  const blob = await response.blob();
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") ?? "")?.[1] ?? fallbackName;
  const link = h("a", { href: URL.createObjectURL(blob), download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}

// ---------------------------------------------------------------- promises

/** What the ERP did about the customer's internet when the promise was registered. */
function unlockCell(promise) {
  if (!promise.unlockStatus) return "—";
  const label = UNLOCK_STATUS[promise.unlockStatus] ?? promise.unlockStatus;
  const text = promise.unlockStatus === "unlocked" && promise.unlockUntil
    ? `${label} até ${fmtDate(promise.unlockUntil)}`
    : label + (promise.unlockCode ? ` (código ${promise.unlockCode})` : "");
  return h("span", { class: `badge unlock-${promise.unlockStatus}`, title: promise.unlockReason ?? null }, text);
}

function promiseRow(promise, onSettled) {
  const actions = [];
  if (promise.status === "pending" && canDo("supervisor")) {
    actions.push(h("button", {
      type: "button",
      class: "ghost",
      "aria-label": `Marcar como renegociada a promessa de ${promise.contactDocument}`,
      onclick: async (event) => {
        if (!confirm("Marcar esta promessa como renegociada? O cliente volta a poder ser contatado.")) return;
        event.currentTarget.disabled = true;
        try {
          await sendJson(`/api/voice/promises/${promise.id}`, "PATCH", { status: "renegotiated" });
          toast("Promessa marcada como renegociada.");
          onSettled();
          refreshMetrics().catch(() => {});
        } catch (error) {
          event.currentTarget.disabled = false;
          reportError(error);
        }
      },
    }, "Marcar como renegociada"));
  }
  return h("tr", { "data-id": promise.id },
    h("td", { class: "mono" }, promise.contactDocument),
    h("td", { class: "num" }, money.format(Number(promise.amount))),
    h("td", {}, fmtDate(promise.dueDate)),
    h("td", {}, PAYMENT_METHOD[promise.paymentMethod] ?? "—"),
    h("td", {}, badge("promise", promise.status, PROMISE_STATUS)),
    h("td", {}, unlockCell(promise)),
    h("td", {}, fmtDateTime(promise.createdAt)),
    actionsCell(actions),
  );
}

function viewPromessas(root) {
  const filters = { status: "pending" };
  const pages = pagedTable(root, {
    url: (cursor) => `/api/voice/promises?${query({ ...filters, limit: PAGE_SIZE, cursor })}`,
    row: (promise) => promiseRow(promise, () => pages.reload()),
    columns: 8,
    empty: "Nenhuma promessa nesta situação.",
  });
  $('[data-action="export"]', root).addEventListener("click", () =>
    downloadReport(`/api/voice/promises/export.csv?${query(filters)}`, "promessas.csv").catch(reportError));
  const group = $(".segmented", root);
  group.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-status]");
    if (!button) return;
    filters.status = button.dataset.status;
    pressOnly(group, button);
    pages.reset();
  });
  $('[data-action="refresh"]', root).addEventListener("click", () => pages.reload());
  pages.reset();
}

// ---------------------------------------------------------------- daily trend

const SVG_NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  el.append(...children);
  return el;
}
/** The period of `days` days ending on `end` (YYYY-MM-DD), as the API's query. */
function period(days, end) {
  if (!end) return {}; // the API's default: the 30 days to the server's today
  const start = new Date(`${end}T12:00:00Z`);
  start.setUTCDate(start.getUTCDate() - (days - 1));
  return { from: start.toISOString().slice(0, 10), to: end };
}

function wireTrend(root, path) {
  const group = $("[data-period]", root);
  const chosen = { days: 30, end: null }; // the end is the server's today, learnt from the first answer
  const show = async () => {
    const { data: days } = await getJson(`${path}/daily?${query(period(chosen.days, chosen.end))}`);
    chosen.end = days.at(-1)?.day ?? null;
    drawTrend(root, days);
  };
  group.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-days]");
    if (!button) return;
    chosen.days = Number(button.dataset.days);
    pressOnly(group, button);
    show().catch(reportError);
  });
  $('[data-action="export-daily"]', root).addEventListener("click", () =>
    downloadReport(`${path}/daily.csv?${query(period(chosen.days, chosen.end))}`, "diario.csv").catch(reportError));
  show().catch(reportError);
}

/** Bars: contacts per day; a line: promises. Each day's figures in its tooltip. */
function drawTrend(root, days) {
  const chart = $("[data-chart]", root);
  const [width, height] = [600, 140];
  const peak = Math.max(1, ...days.map((d) => d.contacts), ...days.map((d) => d.promises));
  const step = width / Math.max(days.length, 1);
  const y = (value) => height - (value / peak) * (height - 10);
  const bars = days.map((d, i) => svg("rect", {
    x: (i * step + step * 0.15).toFixed(1), y: y(d.contacts).toFixed(1), width: (step * 0.7).toFixed(1),
    height: (height - y(d.contacts)).toFixed(1), class: "bar", "data-day": d.day,
  }, svg("title", {}, `${fmtDate(d.day)}: ${number.format(d.contacts)} contatos, ${number.format(d.responses)} respostas, `
    + `${number.format(d.promises)} promessas, ${number.format(d.kept)} cumpridas, ${fmtMoney(d.amountRecovered)} recuperados`)));
  const line = svg("polyline", {
    class: "line", fill: "none",
    points: days.map((d, i) => `${(i * step + step / 2).toFixed(1)},${y(d.promises).toFixed(1)}`).join(" "),
  });
  chart.replaceChildren(...bars, line);
  const total = (key) => days.reduce((sum, d) => sum + Number(d[key]), 0);
  chart.setAttribute("aria-label", `Contatos (barras) e promessas (linha) por dia: ${number.format(total("contacts"))} contatos`);
  $("[data-trend-total]", root).textContent = `No período: ${number.format(total("contacts"))} contatos, `
    + `${number.format(total("responses"))} respostas, ${number.format(total("promises"))} promessas, `
    + `${number.format(total("kept"))} cumpridas, ${fmtMoney(total("amountRecovered"))} recuperados.`;
}

// ---------------------------------------------------------------- a customer's story

/** The customer search (by CPF/CNPJ or by phone) and what it found: one story per customer (a phone
 * shared by a family may find more than one). Each search is recorded by the API (LGPD). */
async function viewClientes(root, { document = null, phone = null } = {}) {
  const form = $("[data-search]", root);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const value = form.elements.query.value.trim();
    if (!value) return;
    location.hash = form.elements.by.value === "phone"
      ? `#/clientes/tel/${value.replace(/\D/g, "")}`
      : `#/clientes/${encodeURIComponent(value.replace(/[^0-9A-Za-z]/g, ""))}`;
  });
  if (!document && !phone) return;
  form.elements.by.value = phone ? "phone" : "document";
  form.elements.query.value = decodeURIComponent(phone ?? document);
  const stories = phone
    ? (await getJson(`/api/voice/customers?${query({ phone })}`).catch((error) => {
      if (error.status === 404) error.meaning = "Nenhum cliente tem um caso com este telefone.";
      throw error;
    })).data
    : [(await getJson(`/api/voice/customers/${document}`)).data];
  $("#customer-title", root).textContent = stories.length === 1
    ? `Histórico do cliente ${stories[0].clientDocument}`
    : `${pluralize(stories.length, "cliente", "clientes")} com este telefone`;
  $("[data-stories]", root).replaceChildren(...stories.map(storyBlock));
}

function storyBlock(story) {
  const block = $("#tpl-story").content.firstElementChild.cloneNode(true);
  applyRole(block);
  $("[data-story-title]", block).textContent = `Cliente ${story.clientDocument}`;
  $("[data-cases]", block).replaceChildren(...story.cases.map(storyCaseRow));
  $("[data-events]", block).replaceChildren(...story.events.map((e) => h("li", { "data-kind": e.kind },
    h("time", { datetime: e.at }, fmtDateTime(e.at)), " ", e.description)));
  wireAddPhone(block, story);
  return block;
}

function storyCaseRow(c) {
  return h("tr", { "data-id": c.id },
    h("td", {}, h("a", { href: `#/campanhas/${c.campaignId}` }, c.campaignName)),
    h("td", {}, c.clientName),
    h("td", { class: "num" }, number.format(c.invoices.length)),
    h("td", { class: "num" }, fmtMoney(c.debtAmount)),
    h("td", {}, badge("state", c.state, TARGET_STATE)),
    h("td", {}, c.outcome ? (OUTCOME[c.outcome] ?? c.outcome) : "—"),
    h("td", { "data-added-phones": "" }, addedPhones(c.addedPhones)),
  );
}

function addedPhones(added) {
  if (!added.length) return "—";
  return h("ul", { class: "disclosures" }, ...added.map((a) =>
    h("li", {}, `${a.phoneNumber} · ${a.addedBy} · ${fmtDateTime(a.addedAt)}`)));
}

/** A supervisor puts a phone on one of the customer's cases (`POST /targets/{id}/phones`, which
 * records who and when); the case's row shows it at once. */
function wireAddPhone(block, story) {
  const form = $("[data-add-phone]", block);
  const errorBox = $("[data-add-phone-error]", form);
  const select = form.elements.case;
  select.replaceChildren(...[...story.cases].reverse().map((c) =>
    h("option", { value: c.id }, `${c.campaignName} · ${c.clientName}`)));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.textContent = "";
    const submit = $('button[type="submit"]', form);
    submit.disabled = true;
    try {
      const updated = await sendJson(`/api/voice/targets/${encodeURIComponent(select.value)}/phones`, "POST",
        { phoneNumber: form.elements.phone.value.trim() });
      $(`tr[data-id="${updated.id}"] [data-added-phones]`, block).replaceChildren(addedPhones(updated.addedPhones));
      form.elements.phone.value = "";
      toast("Telefone adicionado ao cliente.");
    } catch (error) {
      errorBox.textContent = `O telefone não foi adicionado: ${error.message}`;
    } finally {
      submit.disabled = false;
    }
  });
}

// ---------------------------------------------------------------- opt-outs ("Não contatar")

const OPTOUT_KIND = { phone: "Telefone", document: "CPF/CNPJ" };
const OPTOUT_SOURCE = { api: "Painel", assistant: "Assistente virtual", keyword: "Palavra-chave (PARAR)" };

function optOutRow(optout) {
  return h("tr", {},
    h("td", {}, OPTOUT_KIND[optout.key] ?? optout.key),
    h("td", { class: "mono" }, optout.value),
    h("td", {}, optout.reason ?? "—"),
    h("td", {}, OPTOUT_SOURCE[optout.source] ?? optout.source),
    h("td", {}, fmtDateTime(optout.createdAt)),
  );
}

/** Every opt-out, newest first, a page at a time; supervisors register new ones (never remove). */
function viewNaoContatar(root) {
  const pages = pagedTable(root, {
    url: (cursor) => `/api/voice/optouts?${query({ limit: PAGE_SIZE, cursor })}`,
    row: optOutRow,
    columns: 5,
    empty: "Nenhum pedido de não contato.",
  });
  const form = $("[data-optout-form]", root);
  const errorBox = $("[data-optout-error]", form);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.textContent = "";
    const phone = form.elements.phone.value.trim();
    const document = form.elements.document.value.trim();
    if (!phone && !document) {
      errorBox.textContent = "Informe o telefone, o documento ou os dois.";
      form.elements.phone.focus();
      return;
    }
    const body = { reason: form.elements.reason.value.trim() };
    if (phone) body.phoneNumber = phone;
    if (document) body.clientDocument = document;
    const submit = $('button[type="submit"]', form);
    submit.disabled = true;
    try {
      await sendJson("/api/voice/optouts", "POST", body);
      form.reset();
      toast("Pedido de não contato registrado.");
      await pages.reset();
    } catch (error) {
      errorBox.textContent = `O pedido não foi registrado: ${error.message}`;
    } finally {
      submit.disabled = false;
    }
  });
  $('[data-action="refresh"]', root).addEventListener("click", () => pages.reload());
  pages.reset();
}

// ---------------------------------------------------------------- a campaign's cases

function oldestDue(invoices) {
  const dues = invoices.map((invoice) => invoice.dueDate).filter(Boolean).sort();
  return dues.length ? fmtDate(dues[0]) : "—";
}

/** What the CRM/ERP last showed still open for the customer, with when it was read ("—" before any read). */
function openAmountCell(c) {
  if (c.openAmount == null) return h("td", { class: "num", title: "Ainda não consultado no CRM" }, "—");
  return h("td", { class: "num", title: `Consultado no CRM em ${fmtDateTime(c.openAmountAt)}` }, fmtMoney(c.openAmount));
}

function campaignCaseRow(c) {
  return h("tr", { "data-id": c.id },
    h("td", {}, c.clientName),
    h("td", { class: "mono" }, c.clientDocument),
    h("td", { class: "num" }, fmtMoney(c.debtAmount)),
    openAmountCell(c),
    h("td", {}, oldestDue(c.invoices)),
    h("td", {}, badge("state", c.state, TARGET_STATE)),
    h("td", {}, c.outcome ? (OUTCOME[c.outcome] ?? c.outcome) : "—"),
    h("td", { class: "num" }, number.format(c.contactCount)),
    h("td", {}, fmtDateTime(c.lastAttemptAt)),
  );
}

/** The campaign page's list of cases: filters by state and outcome, sorted by amount or age, paged by
 * the server (`GET /campaigns/{id}/targets`). */
function wireCases(root, campaignId) {
  const section = $("[data-cases-list]", root);
  const outcomes = $("[data-outcome-options]", section);
  outcomes.append(...Object.entries(OUTCOME).map(([value, label]) => h("option", { value }, label)));
  const filters = { state: "", outcome: "", sort: "", order: "" };
  const pages = pagedTable(section, {
    url: (cursor) => `/api/voice/campaigns/${encodeURIComponent(campaignId)}/targets?${query({ ...filters, limit: PAGE_SIZE, cursor })}`,
    row: campaignCaseRow,
    columns: 9,
    empty: "Nenhum caso com estes filtros.",
  });
  for (const select of $$("select", section)) {
    select.addEventListener("change", () => {
      if (select.name === "sort") [filters.sort, filters.order] = select.value ? select.value.split(":") : ["", ""];
      else filters[select.name] = select.value;
      pages.reset();
    });
  }
  pages.reset();
}

// ---------------------------------------------------------------- router

const ROUTES = [
  [/^#\/painel$/, "painel", viewPainel],
  [/^#\/fila$/, "fila", viewFila],
  [/^#\/em-atendimento$/, "em-atendimento", viewEmAtendimento],
  [/^#\/conversas\/([\w-]+)$/, "conversa", viewConversa],
  [/^#\/campanhas$/, "campanhas", viewCampanhas],
  [/^#\/campanhas\/([\w-]+)$/, "campanha", viewCampanha],
  [/^#\/promessas$/, "promessas", viewPromessas],
  [/^#\/clientes$/, "clientes", (root) => viewClientes(root)],
  [/^#\/clientes\/tel\/(\d+)$/, "clientes", (root, phone) => viewClientes(root, { phone })],
  [/^#\/clientes\/([\w.\/-]+)$/, "clientes", (root, document) => viewClientes(root, { document })],
  [/^#\/nao-contatar$/, "nao-contatar", viewNaoContatar],
];

function render(moveFocus = true) {
  if (!session.me) return;
  const [, name, view, match] = ROUTES.map(([pattern, n, v]) => [pattern, n, v, pattern.exec(location.hash)])
    .find(([, , , m]) => m) ?? [null, "painel", viewPainel, []];
  const main = $("#main");
  main.replaceChildren($(`#view-${name}`).content.cloneNode(true));
  applyRole(main);
  const section = { conversa: "painel", campanha: "campanhas" }[name] ?? name;
  for (const link of $$("[data-nav]")) {
    if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  Promise.resolve(view(main, ...match.slice(1))).catch(reportError);
  if (moveFocus) $("h2[tabindex]", main)?.focus();
}

async function start() {
  onUnauthorized(() => signOut("Sua sessão expirou ou o token não é válido. Entre novamente."));
  wireLogin();
  window.addEventListener("hashchange", () => render());
  $(".skip-link").addEventListener("click", (event) => {
    event.preventDefault(); // the hash is the router's
    $("#main").focus();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && session.me) Promise.all([refreshMetrics(), refreshQueueCount()]).catch(() => {});
  });
  try {
    session.config = await (await fetch("/voice/monitor/config.json")).json();
  } catch {
    session.config = { cognito: null, pollSeconds: 5 };
  }
  const params = new URLSearchParams(location.search);
  try {
    if (session.config.cognito && params.has("code")) await finishCognito(session.config.cognito, params);
  } catch (error) {
    showLogin(error.message);
    return;
  }
  if (!token()) {
    showLogin();
    return;
  }
  try {
    await enter();
  } catch (error) {
    if (error.status !== 401) showLogin(error.message);
  }
}

start();

