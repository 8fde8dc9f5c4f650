// Monitor de Cobranças — talking to the API: the bearer token, JSON calls and their errors, the
// upload with progress, and Cognito's hosted-UI sign-in (authorization code + PKCE).

import { API_ERROR, STATUS_ERROR } from "./labels.js";

let unauthorized = () => {};

/** What to do when the API answers 401 (the app signs out). */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

const TOKEN_KEY = "cobranca.token";
const PKCE_KEY = "cobranca.pkce";

/** A refused call: HTTP status, the API's message and `code`, per-field messages (422), and what it
 * means in the team's words (`meaning`, pt-BR: what a notice shows where no form holds the detail). */
export class ApiError extends Error {
  constructor(status, message, code = null, fields = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields; // field name (camelCase, as the API names it) -> message
    this.meaning = API_ERROR[code] ?? STATUS_ERROR[status] ?? message;
  }

  static async from(response) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      return new ApiError(response.status, `Erro ${response.status} ao falar com o servidor.`);
    }
    return ApiError.fromBody(response.status, body);
  }

  static fromBody(status, body) {
    const detail = body?.detail;
    if (Array.isArray(detail)) {
      // FastAPI's request validation: [{loc: ["body", "field", ...], msg}]
      const fields = {};
      for (const problem of detail) {
        const loc = (problem.loc ?? []).filter((part) => part !== "body");
        fields[loc[0] ?? "_"] = problem.msg;
      }
      return new ApiError(status, "Verifique os campos destacados.", "validation_error", fields);
    }
    return new ApiError(status, typeof detail === "string" ? detail : `Erro ${status}.`, body?.code ?? null);
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  let payload;
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body: payload });
  } catch {
    throw new ApiError(0, "Sem conexão com o servidor.");
  }
  if (response.status === 401) {
    unauthorized();
    throw new ApiError(401, "Não autenticado.");
  }
  if (!response.ok) throw await ApiError.from(response);
  return response;
}

export async function getJson(path) {
  const response = await api(path);
  return { data: await response.json(), next: response.headers.get("X-Next-Cursor") };
}

export async function sendJson(path, method, body) {
  const response = await api(path, { method, body });
  return response.json();
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  return search.toString();
}

/** XMLHttpRequest (not fetch) for its upload progress events. */
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader("Authorization", `Bearer ${token()}`);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 401) {
        unauthorized();
        reject(new ApiError(401, "Não autenticado."));
      } else if (xhr.status >= 200 && xhr.status < 300 && body) {
        onProgress(1);
        resolve(body);
      } else reject(ApiError.fromBody(xhr.status, body));
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "Falha de rede durante o envio.")));
    const data = new FormData();
    data.append("file", file);
    xhr.send(data);
  });
}

export function redirectUri() {
  return `${location.origin}/voice/monitor`;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function startCognito({ domain, clientId, scopes }) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(48)));
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const params = query({
    response_type: "code", client_id: clientId, redirect_uri: redirectUri(), scope: scopes, state,
    code_challenge: challenge, code_challenge_method: "S256",
  });
  location.assign(`${domain}/oauth2/authorize?${params}`);
}

/** Back from the hosted UI with `?code=&state=`: trade the code for tokens (PKCE, no secret). */
export async function finishCognito({ domain, clientId }, params) {
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? "null");
  sessionStorage.removeItem(PKCE_KEY);
  history.replaceState(null, "", `${location.pathname}${location.hash}`);
  if (!pending || pending.state !== params.get("state")) throw new Error("Resposta de login inválida. Tente de novo.");
  const response = await fetch(`${domain}/oauth2/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: query({
      grant_type: "authorization_code", client_id: clientId, code: params.get("code"),
      redirect_uri: redirectUri(), code_verifier: pending.verifier,
    }),
  });
  if (!response.ok) throw new Error("O login não foi concluído. Tente de novo.");
  const tokens = await response.json();
  setToken(tokens.access_token);
}

