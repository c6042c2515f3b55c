// The Applications tab: the applications the person owns or collaborates on, with their role;
// creating one; and, per application, its collaborators (role pickers and removal for an owner).

import { api, session } from "./api.js";
import { $, el, setText, timeEl, showError, submitting, pressing, confirmDialog, clearErrors } from "./ui.js";
import * as events from "./events.js";

const ROLES = ["developer", "operator", "observer"];
const ROLE_NAMES = { owner: "Owner", developer: "Developer", operator: "Operator", observer: "Observer" };

let applications = [];
let current = null; // the application whose collaborators are shown

export function reset() {
  applications = [];
  current = null;
  $("#apps-table tbody").replaceChildren();
  $("#collab-table tbody").replaceChildren();
  $("#app-detail").hidden = true;
  for (const id of ["#apps-status", "#apps-error", "#collab-status", "#collab-error"]) setText(id, "");
}

export async function show() {
  showError("#apps-error", null);
  try {
    applications = await api.applications();
    renderApplications();
    if (current) {
      const still = applications.find((app) => app.id === current.id);
      if (still) await openDetail(still, false);
      else closeDetail();
    }
  } catch (error) {
    showError("#apps-error", error);
  }
}

function renderApplications() {
  const rows = applications.map((app) =>
    el(
      "tr",
      { dataset: { id: app.id } },
      el("th", { scope: "row" }, app.name),
      el("td", {}, ROLE_NAMES[app.role] ?? app.role),
      el("td", {}, app.owner),
      el("td", {}, timeEl(app.created_at)),
      el("td", {}, app.description ?? ""),
      el(
        "td",
        {},
        el(
          "button",
          { type: "button", class: "secondary small", dataset: { open: app.id }, "aria-label": `Collaborators of ${app.name}` },
          "Collaborators",
        ),
      ),
    ),
  );
  $("#apps-table tbody").replaceChildren(...rows);
  $("#apps-table").hidden = applications.length === 0;
  $("#apps-empty").hidden = applications.length > 0;
}

// The application's audit log, for those who may manage its collaborators: its latest events.
async function showActivity(id) {
  $("#app-activity").hidden = false;
  showError("#app-activity-error", null);
  try {
    const page = await api.applicationEvents(id, 25, null);
    $("#app-activity-table tbody").replaceChildren(...page.events.map(events.row));
  } catch (error) {
    showError("#app-activity-error", error);
  }
}

function closeDetail() {
  current = null;
  $("#app-detail").hidden = true;
  $("#collab-table tbody").replaceChildren();
  $("#app-activity-table tbody").replaceChildren();
}

async function openDetail(app, focus = true) {
  current = app;
  const detail = $("#app-detail");
  const manages = app.permissions.includes("manage_collaborators");
  setText("#app-detail-title", `Collaborators of ${app.name}`);
  setText(
    "#app-detail-summary",
    `Owner: ${app.owner}. Your role: ${ROLE_NAMES[app.role] ?? app.role} (${app.permissions.join(", ")}).`,
  );
  $("#collab-add-form").hidden = !manages;
  const edit = $("#app-edit-form");
  edit.hidden = !app.permissions.includes("write");
  if (focus) {
    clearErrors(edit);
    edit.elements.name.value = app.name;
    edit.elements.description.value = app.description ?? "";
  }
  $("#app-delete").hidden = !app.permissions.includes("delete");
  $("#app-leave").hidden = app.role === "owner";
  const transferForm = $("#app-transfer-form");
  transferForm.hidden = app.role !== "owner";
  if (focus) clearErrors(transferForm);
  setText("#collab-error", "");
  if (focus) setText("#collab-status", "");
  detail.hidden = false;
  if (focus) $("#app-detail-title").focus();
  if (manages) showActivity(app.id);
  else $("#app-activity").hidden = true;
  try {
    const collaborators = await api.collaborators(app.id);
    renderCollaborators(collaborators, manages);
    $("#app-transfer-username").replaceChildren(
      ...collaborators.map((c) => el("option", { value: c.username }, c.username)),
    );
    if (collaborators.length === 0) transferForm.hidden = true;
  } catch (error) {
    showError("#collab-error", error);
  }
}

function roleSelect(collaborator) {
  const select = el(
    "select",
    { class: "role-select", "aria-label": `Role of ${collaborator.username}`, dataset: { username: collaborator.username } },
    ROLES.map((role) => el("option", { value: role, selected: role === collaborator.role }, ROLE_NAMES[role])),
  );
  select.dataset.previous = collaborator.role;
  return select;
}

function renderCollaborators(collaborators, manages) {
  const rows = collaborators.map((collaborator) =>
    el(
      "tr",
      { dataset: { username: collaborator.username } },
      el("th", { scope: "row" }, collaborator.username),
      el("td", {}, manages ? roleSelect(collaborator) : (ROLE_NAMES[collaborator.role] ?? collaborator.role)),
      el("td", {}, timeEl(collaborator.added_at)),
      el(
        "td",
        {},
        manages &&
          el(
            "button",
            {
              type: "button",
              class: "danger small",
              dataset: { remove: collaborator.username },
              "aria-label": `Remove ${collaborator.username}`,
            },
            "Remove",
          ),
        el("span", { class: "row-error", role: "alert" }),
      ),
    ),
  );
  $("#collab-table tbody").replaceChildren(...rows);
  $("#collab-table").hidden = collaborators.length === 0;
  $("#collab-empty").hidden = collaborators.length > 0;
}

function rowError(username) {
  return [...document.querySelectorAll("#collab-table tbody tr")]
    .find((row) => row.dataset.username === username)
    ?.querySelector(".row-error");
}

async function changeRole(select) {
  const { username, previous } = select.dataset;
  const errorTarget = rowError(username);
  setText(errorTarget, "");
  select.disabled = true;
  try {
    const collaborator = await api.putCollaborator(current.id, username, select.value);
    select.dataset.previous = collaborator.role;
    setText("#collab-status", `${username} is now ${ROLE_NAMES[collaborator.role].toLowerCase()}.`);
  } catch (error) {
    select.value = previous;
    showError(errorTarget, error);
  } finally {
    select.disabled = false;
    select.focus();
  }
}

async function removeCollaborator(button) {
  const username = button.dataset.remove;
  await pressing(button, rowError(username), async () => {
    await api.removeCollaborator(current.id, username);
    setText("#collab-status", `${username} no longer has access to ${current.name}.`);
    await openDetail(current, false);
    $("#collab-username").focus();
  });
}

export function init() {
  $("#app-create-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(form, async () => {
      const { name, description } = form.elements;
      const body = { name: name.value.trim() };
      if (description.value.trim()) body.description = description.value;
      const created = await api.createApplication(body);
      form.reset();
      setText("#apps-status", `Created ${created.name}.`);
      await show();
    });
  });

  $("#apps-table tbody").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-open]");
    const app = button && applications.find((candidate) => candidate.id === button.dataset.open);
    if (app) openDetail(app);
  });

  $("#collab-add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(form, async () => {
      const { username, role } = form.elements;
      const collaborator = await api.putCollaborator(current.id, username.value.trim(), role.value);
      form.reset();
      clearErrors(form);
      setText("#collab-status", `${collaborator.username} has access to ${current.name} as ${collaborator.role}.`);
      await openDetail(current, false);
      username.focus();
    }, "username");
  });

  $("#app-edit-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(form, async () => {
      const { name, description } = form.elements;
      const updated = await api.updateApplication(current.id, {
        name: name.value.trim(),
        description: description.value.trim() ? description.value : null,
      });
      setText("#collab-status", `Saved ${updated.name}.`);
      current = updated;
      await show();
      name.focus();
    });
  });

  $("#collab-table tbody").addEventListener("change", (event) => {
    if (event.target.matches(".role-select")) changeRole(event.target);
  });
  $("#collab-table tbody").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-remove]");
    if (button) removeCollaborator(button);
  });

  $("#app-leave").addEventListener("click", async (event) => {
    const button = event.currentTarget; // gone from the event once it has been handled
    const app = current;
    const sure = await confirmDialog("Leave application?", `You will lose access to ${app.name}.`, "Leave");
    if (!sure) return;
    await pressing(button, "#collab-error", async () => {
      await api.removeCollaborator(app.id, session.get()?.username ?? "");
      closeDetail();
      setText("#apps-status", `You left ${app.name}.`);
      await show();
      $("#app-name").focus();
    });
  });

  $("#app-transfer-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const app = current;
    const username = form.elements.username.value;
    if (!username) return;
    const sure = await confirmDialog(
      "Transfer ownership?",
      `${username} becomes the owner of ${app.name}; you stay on as a developer and cannot undo this yourself.`,
      "Transfer",
    );
    if (!sure) return;
    await submitting(form, async () => {
      const updated = await api.transferApplication(app.id, username);
      setText("#apps-status", `${updated.owner} now owns ${updated.name}.`);
      current = updated;
      await show();
    });
  });

  $("#app-delete").addEventListener("click", async (event) => {
    const button = event.currentTarget; // gone from the event once it has been handled
    const app = current;
    const sure = await confirmDialog(
      "Delete application?",
      `Delete ${app.name}? Its collaborators lose access with it. This cannot be undone.`,
      "Delete",
    );
    if (!sure) return;
    await pressing(button, "#collab-error", async () => {
      await api.deleteApplication(app.id);
      closeDetail();
      setText("#apps-status", `Deleted ${app.name}.`);
      await show();
      $("#app-name").focus();
    });
  });

  $("#app-detail-close").addEventListener("click", () => {
    const id = current?.id;
    closeDetail();
    document.querySelector(`#apps-table button[data-open="${CSS.escape(id ?? "")}"]`)?.focus();
  });
}
