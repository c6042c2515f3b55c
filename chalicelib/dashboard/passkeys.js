// Passkeys: the Passkeys tab (add one with navigator.credentials.create, name, rename, remove) and
// signing in with one (navigator.credentials.get, no username; or as the second login step).
// The API speaks WebAuthn's JSON forms (binary values as base64url): the browser's own
// PublicKeyCredential.parse*OptionsFromJSON and toJSON() where it has them, else the same by hand.

import { api } from "./api.js";
import { $, el, setText, showError, submitting, pressing, timeEl, confirmDialog } from "./ui.js";

let passkeys = [];

export const supported = () => typeof window.PublicKeyCredential === "function" && Boolean(navigator.credentials);

// ---- base64url and the options/credential JSON ----

function toBuffer(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer;
}

function toText(buffer) {
  let binary = "";
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const descriptors = (list) => (list ?? []).map((c) => ({ ...c, id: toBuffer(c.id) }));

function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === "function") {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: toBuffer(json.challenge),
    user: { ...json.user, id: toBuffer(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function") {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return { ...json, challenge: toBuffer(json.challenge), allowCredentials: descriptors(json.allowCredentials) };
}

function credentialJSON(credential) {
  if (typeof credential.toJSON === "function") return credential.toJSON();
  const r = credential.response;
  const response = { clientDataJSON: toText(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toText(r.attestationObject);
    response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
  } else {
    response.authenticatorData = toText(r.authenticatorData);
    response.signature = toText(r.signature);
    response.userHandle = r.userHandle ? toText(r.userHandle) : null;
  }
  return {
    id: credential.id,
    rawId: toText(credential.rawId),
    type: credential.type,
    response,
    authenticatorAttachment: credential.authenticatorAttachment ?? null,
    clientExtensionResults: credential.getClientExtensionResults(),
  };
}

// What the browser's own errors mean to a person (a cancelled prompt is NotAllowedError).
function browserError(error) {
  if (error?.name === "NotAllowedError") return new Error("The passkey prompt was closed or timed out: nothing changed.");
  if (error?.name === "InvalidStateError") return new Error("This authenticator already holds a passkey for your account.");
  if (error?.name === "SecurityError") {
    return new Error("This browser refuses passkeys for this address: open the dashboard at its public URL (a domain name).");
  }
  return error;
}

async function browserCall(action) {
  try {
    return await action();
  } catch (error) {
    throw browserError(error);
  }
}

// ---- signing in ----

// A passkey login: with no username, or (with `pendingToken`) as the second step of a password login.
export async function signIn(pendingToken = null) {
  if (!supported()) throw new Error("This browser does not support passkeys.");
  const started = await api.passkeyLoginOptions(pendingToken);
  const credential = await browserCall(() => navigator.credentials.get({ publicKey: requestOptions(started.options) }));
  return api.passkeyLogin(started.challenge_id, credentialJSON(credential), pendingToken);
}

// ---- the Passkeys tab ----

export function reset() {
  passkeys = [];
  $("#passkeys-table tbody").replaceChildren();
  for (const id of ["#passkeys-status", "#passkeys-error"]) setText(id, "");
}

export async function show() {
  showError("#passkeys-error", null);
  $("#passkey-unsupported").hidden = supported();
  try {
    passkeys = await api.passkeys();
    render();
  } catch (error) {
    showError("#passkeys-error", error);
  }
}

function render() {
  const rows = passkeys.map((p) =>
    el(
      "tr",
      { dataset: { id: p.id } },
      el("th", { scope: "row", class: "passkey-name" }, p.name),
      el("td", {}, timeEl(p.created_at)),
      el("td", {}, timeEl(p.last_used_at, "Not used yet")),
      el("td", {}, p.backed_up ? "Synced" : "This device only"),
      el(
        "td",
        { class: "row-actions" },
        el("button", { type: "button", class: "secondary passkey-rename", dataset: { id: p.id }, "aria-label": `Rename ${p.name}` }, "Rename"),
        el("button", { type: "button", class: "danger passkey-remove", dataset: { id: p.id }, "aria-label": `Remove ${p.name}` }, "Remove"),
      ),
    ),
  );
  $("#passkeys-table tbody").replaceChildren(...rows);
  $("#passkeys-empty").hidden = passkeys.length > 0;
}

async function add(form) {
  setText("#passkeys-status", "");
  await submitting(
    form,
    async () => {
      if (!supported()) throw new Error("This browser does not support passkeys.");
      const name = form.elements.name.value.trim() || "Passkey";
      const started = await api.passkeyRegistrationOptions();
      const credential = await browserCall(() =>
        navigator.credentials.create({ publicKey: creationOptions(started.options) }),
      );
      const added = await api.addPasskey(started.challenge_id, credentialJSON(credential), name);
      form.reset();
      setText("#passkeys-status", `Added the passkey “${added.name}”: you can now sign in with it, no password needed.`);
      await show();
    },
    "name",
  );
}

function startRename(button) {
  const target = passkeys.find((p) => p.id === button.dataset.id);
  if (!target) return;
  const cell = button.closest("tr").querySelector(".passkey-name");
  const input = el("input", { name: "name", value: target.name, maxlength: 64, "aria-label": "New name", required: true });
  const form = el(
    "form",
    { class: "inline-form passkey-rename-form", novalidate: true },
    input,
    el("button", { type: "submit" }, "Save"),
    el("button", { type: "button", class: "secondary passkey-rename-cancel" }, "Cancel"),
    el("p", { class: "form-error", "data-form-error": true, "aria-live": "assertive" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(
      form,
      async () => {
        await api.renamePasskey(target.id, input.value.trim());
        setText("#passkeys-status", "Renamed.");
        await show();
      },
      "name",
    );
  });
  form.querySelector(".passkey-rename-cancel").addEventListener("click", () => render());
  cell.replaceChildren(form);
  input.focus();
  input.select();
}

async function remove(button) {
  const target = passkeys.find((p) => p.id === button.dataset.id);
  if (!target) return;
  const sure = await confirmDialog(
    `Remove the passkey “${target.name}”?`,
    "It signs in no more, from now on. Delete it from the authenticator too, so that it is not offered again.",
    "Remove",
  );
  if (!sure) return;
  await pressing(button, "#passkeys-error", async () => {
    await api.deletePasskey(target.id);
    setText("#passkeys-status", `Removed the passkey “${target.name}”.`);
    await show();
  });
}

export function init() {
  $("#passkey-add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    add(event.currentTarget);
  });
  $("#passkeys-table tbody").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (button?.classList.contains("passkey-rename")) startRename(button);
    else if (button?.classList.contains("passkey-remove")) remove(button);
  });
}
