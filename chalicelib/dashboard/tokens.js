// The Access tokens tab: the session token (copy, refresh), sessions (list, log out one or all
// the others) and API keys (list, create with a scope, rotate, delete).

import { api, session } from "./api.js";
import {
  $,
  el,
  setText,
  timeEl,
  showError,
  submitting,
  pressing,
  copyText,
  download,
  openDialog,
  confirmDialog,
  clearErrors,
} from "./ui.js";

let keys = [];
let newKey = null;
let sessions = [];
let rotating = null; // the key the rotate dialog is for
let appNames = new Map(); // application id -> name, for showing scopes

// A key's scope in words: "all applications, all permissions" for an unscoped key.
function scopeText(scope) {
  if (!scope) return "Full access";
  const apps = scope.applications
    ? scope.applications.map((id) => appNames.get(id) ?? id).join(", ")
    : "all applications";
  const permissions = scope.permissions ? scope.permissions.join(", ") : "your role's permissions";
  return `${apps}; ${permissions}`;
}

export function reset() {
  keys = [];
  newKey = null;
  sessions = [];
  $("#sessions-table tbody").replaceChildren();
  for (const id of ["#sessions-status", "#sessions-error"]) setText(id, "");
  $("#keys-table tbody").replaceChildren();
  $("#key-created-value").value = "";
  for (const id of ["#session-status", "#session-error", "#keys-status", "#keys-error"]) setText(id, "");
  setText("#session-expiry", "");
}

export async function show() {
  showSessionExpiry();
  showSessions();
  showError("#keys-error", null);
  try {
    keys = await api.apiKeys();
    renderKeys();
  } catch (error) {
    showError("#keys-error", error);
  }
  try {
    if (keys.some((key) => key.scope?.applications)) {
      appNames = new Map((await api.applications()).map((app) => [app.id, app.name]));
      renderKeys();
    }
  } catch {
    // Names are a nicety: the ids are shown instead.
  }
}

function showSessionExpiry() {
  const current = session.get();
  const expiry = $("#session-expiry");
  expiry.replaceChildren(timeEl(current?.expires_at, "unknown"));
}

async function showSessions() {
  showError("#sessions-error", null);
  try {
    sessions = await api.sessions();
    renderSessions();
  } catch (error) {
    showError("#sessions-error", error);
  }
}

function renderSessions() {
  const rows = sessions.map((s) =>
    el(
      "tr",
      { dataset: { id: s.id }, class: s.current ? "current" : null },
      el(
        "th",
        { scope: "row" },
        timeEl(s.created_at),
        s.current ? el("strong", { class: "badge" }, " This session") : null,
      ),
      el("td", {}, s.address ?? ""),
      el("td", { class: "agent" }, s.user_agent ?? "Unknown"),
      el("td", {}, timeEl(s.last_used_at, "Not used yet")),
      el("td", {}, timeEl(s.expires_at)),
      el(
        "td",
        {},
        el(
          "button",
          {
            type: "button",
            class: "secondary session-end",
            dataset: { id: s.id },
            "aria-label": s.current
              ? "Log out this session"
              : `Log out the session from ${s.address ?? "an unknown address"}, signed in ${s.created_at}`,
          },
          "Log out",
        ),
      ),
    ),
  );
  $("#sessions-table tbody").replaceChildren(...rows);
  $("#sessions-end-others").disabled = !sessions.some((s) => !s.current);
}

async function endSession(button) {
  const target = sessions.find((s) => s.id === button.dataset.id);
  if (!target) return;
  if (target.current) {
    $("#logout").click(); // this one: log out of the dashboard itself
    return;
  }
  await pressing(button, "#sessions-error", async () => {
    await api.endSession(target.id);
    setText("#sessions-status", "That session was logged out: its token no longer works.");
    await showSessions();
  });
}

async function endOtherSessions(button) {
  const sure = await confirmDialog(
    "Log out other sessions?",
    "Every other browser, CLI and script logged in as you is logged out at once. API keys keep working.",
    "Log out others",
  );
  if (!sure) return;
  await pressing(button, "#sessions-error", async () => {
    const reply = await api.endOtherSessions();
    setText("#sessions-status", `Logged out ${reply.revoked} other session${reply.revoked === 1 ? "" : "s"}.`);
    await showSessions();
  });
}

function renderKeys() {
  const rows = keys.map((key) =>
    el(
      "tr",
      { dataset: { id: key.id } },
      el(
        "td",
        {},
        el("input", { type: "checkbox", class: "key-select", value: key.id, "aria-label": `Select ${key.name}` }),
      ),
      el("th", { scope: "row" }, key.name),
      el("td", {}, el("code", {}, key.prefix)),
      el("td", {}, timeEl(key.created_at)),
      el("td", {}, timeEl(key.last_used_at, "Never used")),
      el("td", {}, timeEl(key.expires_at, "Never")),
      el("td", { class: "key-scope" }, scopeText(key.scope)),
      el("td", {}, key.description ?? ""),
      el(
        "td",
        {},
        el(
          "button",
          { type: "button", class: "secondary small", dataset: { rotate: key.id }, "aria-label": `Rotate ${key.name}` },
          "Rotate",
        ),
      ),
    ),
  );
  $("#keys-table tbody").replaceChildren(...rows);
  $("#keys-table").hidden = keys.length === 0;
  $("#keys-empty").hidden = keys.length > 0;
  updateSelection();
}

function selectedIds() {
  return [...document.querySelectorAll(".key-select:checked")].map((box) => box.value);
}

function updateSelection() {
  const count = selectedIds().length;
  const button = $("#keys-delete");
  button.disabled = count === 0;
  button.textContent = count > 1 ? `Delete selected (${count})` : "Delete selected";
  const all = $("#keys-select-all");
  all.checked = count > 0 && count === keys.length;
  all.indeterminate = count > 0 && count < keys.length;
}

async function deleteSelected() {
  const ids = selectedIds();
  if (ids.length === 0) return;
  const names = keys.filter((key) => ids.includes(key.id)).map((key) => key.name);
  const what = ids.length === 1 ? `the API key “${names[0]}”` : `${ids.length} API keys (${names.join(", ")})`;
  const sure = await confirmDialog(
    ids.length === 1 ? "Delete API key?" : "Delete API keys?",
    `Delete ${what}? Anything still using ${ids.length === 1 ? "it" : "them"} stops working at once.`,
    "Delete",
  );
  if (!sure) return;
  await pressing($("#keys-delete"), "#keys-error", async () => {
    const reply = await api.deleteApiKeys(ids);
    const deleted = reply.deleted.length;
    let message = `Deleted ${deleted} API key${deleted === 1 ? "" : "s"}.`;
    if (reply.not_found.length) message += ` ${reply.not_found.length} had already gone.`;
    setText("#keys-status", message);
    keys = await api.apiKeys();
    renderKeys();
  });
  updateSelection();
  $("#key-create").focus();
}

async function openCreateDialog() {
  const form = $("#key-create-form");
  form.reset();
  clearErrors(form);
  const list = $("#key-scope-apps-list");
  list.replaceChildren();
  openDialog($("#key-create-dialog"), $("#key-name"));
  try {
    const apps = await api.applications();
    appNames = new Map(apps.map((app) => [app.id, app.name]));
    list.replaceChildren(
      ...apps.map((app) =>
        el("label", {}, el("input", { type: "checkbox", name: "application", value: app.id }), ` ${app.name}`),
      ),
    );
    $("#key-scope-apps").hidden = apps.length === 0;
  } catch {
    $("#key-scope-apps").hidden = true;
  }
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((box) => box.value);
}

async function createKey(form) {
  const { name, description, expires_at: expiry } = form.elements;
  const body = { name: name.value };
  if (description.value.trim()) body.description = description.value;
  // A date input gives YYYY-MM-DD: the key lasts to the end of that day, UTC.
  if (expiry.value) body.expires_at = `${expiry.value}T23:59:59Z`;
  const applications = checked(form, "application");
  const permissions = checked(form, "permission");
  if (applications.length || permissions.length) {
    body.scope = {};
    if (applications.length) body.scope.applications = applications;
    if (permissions.length) body.scope.permissions = permissions;
  }
  const created = await api.createApiKey(body);
  $("#key-create-dialog").close();
  showNewKey(created);
  await show();
}

function openRotateDialog(id) {
  rotating = keys.find((key) => key.id === id) ?? null;
  if (!rotating) return;
  const form = $("#key-rotate-form");
  form.reset();
  clearErrors(form);
  setText(
    "#key-rotate-summary",
    `A new key replaces “${rotating.name}” (${rotating.prefix}…) with the same name, description, scope and expiry. ` +
      "Switch your deployments to it before the old one stops working.",
  );
  openDialog($("#key-rotate-dialog"), $("#key-rotate-grace"));
}

async function rotateKey(form) {
  const old = rotating;
  const created = await api.rotateApiKey(old.id, Number(form.elements.grace_seconds.value));
  $("#key-rotate-dialog").close();
  await show();
  const ended = keys.find((key) => key.id === old.id);
  showNewKey(created, ended ? ended.expires_at : null);
}

function showNewKey(created, oldEnds = undefined) {
  newKey = created;
  const old = $("#key-created-old");
  old.hidden = oldEnds === undefined;
  if (oldEnds === undefined) old.replaceChildren();
  else if (oldEnds) old.replaceChildren("The old key works until ", timeEl(oldEnds), ".");
  else old.replaceChildren("The old key has stopped working.");
  setText("#key-created-name", `“${created.name}”`);
  setText("#key-created-status", "");
  const value = $("#key-created-value");
  value.value = created.key;
  openDialog($("#key-created-dialog"), $("#key-created-copy"));
  value.select();
}

function closeNewKey() {
  // Forget the key as the dialog closes: it is never shown again.
  newKey = null;
  $("#key-created-value").value = "";
  $("#key-created-dialog").close();
}

export function init() {
  $("#session-refresh").addEventListener("click", (event) =>
    pressing(event.currentTarget, "#session-error", async () => {
      const current = session.get();
      const reply = await api.refreshToken();
      session.save(reply.token, reply.expires_at, current?.username ?? null);
      showSessionExpiry();
      setText("#session-status", "Your session token was refreshed.");
      await showSessions();
    }),
  );
  $("#session-copy").addEventListener("click", () => copyText(session.get()?.token ?? "", "#session-status"));
  $("#sessions-table tbody").addEventListener("click", (event) => {
    const button = event.target.closest(".session-end");
    if (button) endSession(button);
  });
  $("#sessions-end-others").addEventListener("click", (event) => endOtherSessions(event.currentTarget));

  $("#key-create").addEventListener("click", openCreateDialog);
  $("#key-create-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(form, () => createKey(form));
  });
  $("#key-create-dialog [data-close]").addEventListener("click", () => $("#key-create-dialog").close());

  $("#key-created-copy").addEventListener("click", () => copyText(newKey?.key ?? "", "#key-created-status"));
  $("#key-created-download").addEventListener("click", () => {
    if (!newKey) return;
    const safeName = newKey.name.replace(/[^A-Za-z0-9_-]+/g, "-").slice(0, 40) || "key";
    download(`latchkey-api-key-${safeName}.txt`, `${newKey.key}\n`);
    setText("#key-created-status", "Downloaded.");
  });
  $("#key-created-close").addEventListener("click", closeNewKey);
  // Escape closes the dialog too: forget the key then as well.
  $("#key-created-dialog").addEventListener("close", () => {
    newKey = null;
    $("#key-created-value").value = "";
  });

  $("#keys-table tbody").addEventListener("change", updateSelection);
  $("#keys-table tbody").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-rotate]");
    if (button) openRotateDialog(button.dataset.rotate);
  });
  $("#key-rotate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(form, () => rotateKey(form));
  });
  $("#key-rotate-dialog [data-close]").addEventListener("click", () => $("#key-rotate-dialog").close());
  $("#keys-select-all").addEventListener("change", (event) => {
    for (const box of document.querySelectorAll(".key-select")) box.checked = event.currentTarget.checked;
    updateSelection();
  });
  $("#keys-delete").addEventListener("click", deleteSelected);
}
