// @ts-check
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * HTTP calls of the console and the tab's stored credentials.
 *
 * @module
 */

const SEAT_KEY = "switchboard.console.seat";
const API_TOKEN_KEY = "switchboard.console.api_token";

/** An HTTP answer that was not 2xx; `message` is the server's `{error}` text. */
export class ApiError extends Error {
  /** @param {number} status @param {string} message @param {unknown} body */
  constructor(status, message, body) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

/** The API token of this tab, or "". */
export function apiToken() {
  return sessionStorage.getItem(API_TOKEN_KEY) ?? "";
}

/** @param {string} token */
export function setApiToken(token) {
  if (token) sessionStorage.setItem(API_TOKEN_KEY, token);
  else sessionStorage.removeItem(API_TOKEN_KEY);
}

/** @typedef {{ sid: string, token: string, roles: string[] }} Seat */

/** The seats this tab holds, first one first. @returns {Seat[]} */
export function storedSeats() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SEAT_KEY) ?? "[]");
    const list = Array.isArray(saved) ? saved : [saved];
    return list.filter((s) => s && typeof s.sid === "string" && typeof s.token === "string")
      .map((s) => ({ sid: s.sid, token: s.token, roles: Array.isArray(s.roles) ? s.roles : [] }));
  } catch {
    sessionStorage.removeItem(SEAT_KEY);
    return [];
  }
}

/** @param {Seat[]} seats */
export function storeSeats(seats) {
  if (seats.length > 0) sessionStorage.setItem(SEAT_KEY, JSON.stringify(seats));
  else sessionStorage.removeItem(SEAT_KEY);
}

/**
 * Calls the server. `token` overrides the API token (operator routes use the seat's).
 *
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, text?: string, token?: string }} [options] `text` is sent as
 *   text/plain (the worker's raw output)
 * @returns {Promise<unknown>} the parsed JSON answer, or null for an empty one
 */
export async function call(method, path, options = {}) {
  /** @type {Record<string, string>} */
  const headers = {};
  const bearer = options.token ?? apiToken();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  /** @type {RequestInit} */
  const init = { method, headers };
  if (options.body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.body);
  } else if (options.text !== undefined) {
    headers["content-type"] = "text/plain; charset=utf-8";
    init.body = options.text;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, "The server cannot be reached.", null);
  }
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  if (!res.ok) {
    const message = body && typeof body === "object" && typeof body.error === "string"
      ? body.error
      : `HTTP ${res.status}`;
    throw new ApiError(res.status, withDetail(message, body), body);
  }
  return body;
}

/** Adds the first issue (at its pointer) or the role conflicts to an error text. @param {string} message @param {unknown} body */
function withDetail(message, body) {
  const b =
    /** @type {{ issues?: Array<{ pointer?: string, message?: string }>, conflicts?: string[] }} */ (
      body && typeof body === "object" ? body : {}
    );
  if (Array.isArray(b.issues) && b.issues.length > 0) {
    const first = b.issues[0];
    const where = typeof first.pointer === "string" && first.pointer !== ""
      ? `${first.pointer}: `
      : "";
    return `${message} (${where}${first.message})`;
  }
  if (Array.isArray(b.conflicts)) return `${message}: ${b.conflicts.join(", ")}`;
  return message;
}
