// The People tab: everyone who collaborates on the applications the person owns, with what they
// can reach, and removing someone from all of them at once.

import { api } from "./api.js";
import { $, el, setText, showError, pressing, confirmDialog } from "./ui.js";

let people = [];

export function reset() {
  people = [];
  $("#people-table tbody").replaceChildren();
  for (const id of ["#people-status", "#people-error"]) setText(id, "");
}

export async function show() {
  showError("#people-error", null);
  try {
    people = await api.people();
    render();
  } catch (error) {
    showError("#people-error", error);
  }
}

function render() {
  const rows = people.map((person) =>
    el(
      "tr",
      { dataset: { username: person.username } },
      el("th", { scope: "row" }, person.username),
      el("td", {}, person.applications.map((app) => `${app.name} (${app.role})`).join(", ")),
      el(
        "td",
        {},
        el(
          "button",
          {
            type: "button",
            class: "danger small",
            dataset: { offboard: person.username },
            "aria-label": `Remove ${person.username} everywhere`,
          },
          "Remove everywhere",
        ),
      ),
    ),
  );
  $("#people-table tbody").replaceChildren(...rows);
  $("#people-table").hidden = people.length === 0;
  $("#people-empty").hidden = people.length > 0;
}

async function offboard(button) {
  const username = button.dataset.offboard;
  const person = people.find((p) => p.username === username);
  const count = person?.applications.length ?? 0;
  const sure = await confirmDialog(
    "Remove everywhere?",
    `Remove ${username} from ${count === 1 ? "the application" : `all ${count} applications`} you own? ` +
      "They lose access from their next request.",
    "Remove everywhere",
  );
  if (!sure) return;
  await pressing(button, "#people-error", async () => {
    const reply = await api.offboard(username);
    const n = reply.removed_from.length;
    setText("#people-status", `${username} was removed from ${n} application${n === 1 ? "" : "s"}.`);
    await show();
  });
}

export function init() {
  $("#people-table tbody").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-offboard]");
    if (button) offboard(button);
  });
}
