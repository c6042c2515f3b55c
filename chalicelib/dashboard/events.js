// The Security log tab (what happened to your account) and the Activity of an application (who
// changed it and its access): events newest first, a page at a time, in words.

import { api } from "./api.js";
import { $, el, setText, timeEl, showError } from "./ui.js";

// What each event type means to a person; an unknown type is shown as it is.
const WORDS = {
  signup: "Account created",
  login: "Logged in",
  "login.failed": "Failed login",
  "login.locked": "Logins locked after repeated failures",
  logout: "Logged out",
  "session.revoked": "Session ended",
  reauthenticated: "Confirmed password",
  "password.changed": "Password changed",
  "password.reset_requested": "Password reset requested",
  "password.reset": "Password reset",
  "email.verified": "Email address verified",
  "email.change_requested": "Email change requested",
  "email.changed": "Email address changed",
  "api_key.created": "API key created",
  "api_key.rotated": "API key rotated",
  "api_key.deleted": "API key deleted",
  "two_factor.enabled": "Two-factor authentication turned on",
  "two_factor.disabled": "Two-factor authentication turned off",
  "recovery_codes.regenerated": "New recovery codes made",
  "recovery_code.used": "Recovery code used",
  "passkey.registered": "Passkey added",
  "passkey.renamed": "Passkey renamed",
  "passkey.deleted": "Passkey removed",
  "passkey.used": "Passkey used",
  "passkey.clone_detected": "Passkey refused: it may have been copied",
  "device.approved": "Device login approved",
  "device.denied": "Device login denied",
  "application.created": "Application created",
  "application.updated": "Application changed",
  "application.transferred": "Ownership transferred",
  "collaborator.added": "Collaborator added",
  "collaborator.role_changed": "Collaborator's role changed",
  "collaborator.removed": "Collaborator removed",
  "collaborator.left": "Collaborator left",
};

const PAGE = 25;
let next = null;

export function describe(event) {
  const words = WORDS[event.type] ?? event.type;
  const d = event.details ?? {};
  const about = [];
  const reasons = { code: "wrong code", passkey: "passkey not verified", password: "wrong password" };
  if (d.reason) about.push(reasons[d.reason] ?? d.reason);
  if (d.method === "device") about.push("through the browser");
  if (d.method === "passkey") about.push("with a passkey");
  if (d.client_name) about.push(d.client_name);
  if (d.username) about.push(d.username);
  if (d.from && d.to) about.push(`${d.from} → ${d.to}`);
  if (d.old && d.new) about.push(`${d.old} → ${d.new}`);
  if (d.name) about.push(d.name);
  if (d.prefix) about.push(d.prefix);
  return about.length ? `${words}: ${about.join(", ")}` : words;
}

function how(event) {
  if (event.via === "api_key") return `API key ${event.api_key_prefix ?? ""}`.trim();
  if (event.via === "email") return "Link in an email";
  if (event.via === "session") return "Session";
  return "";
}

export function row(event) {
  return el(
    "tr",
    {},
    el("th", { scope: "row" }, describe(event)),
    el("td", {}, timeEl(event.created_at)),
    el("td", {}, event.actor ?? ""),
    el("td", {}, event.address ?? ""),
    el("td", {}, how(event)),
  );
}

export function reset() {
  next = null;
  $("#events-table tbody").replaceChildren();
  $("#events-more").hidden = true;
  setText("#events-error", "");
}

export async function show() {
  reset();
  await more();
}

async function more() {
  showError("#events-error", null);
  try {
    const page = await api.userEvents(PAGE, next);
    $("#events-table tbody").append(...page.events.map(row));
    next = page.next_cursor;
    $("#events-more").hidden = !next;
    $("#events-empty").hidden = $("#events-table tbody").children.length > 0;
  } catch (error) {
    showError("#events-error", error);
  }
}

export function init() {
  $("#events-more").addEventListener("click", more);
}
