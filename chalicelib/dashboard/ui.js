// DOM helpers: building nodes from text (never from HTML), showing errors where they belong,
// copying, downloading, dates and dialogs.

export const $ = (selector, root = document) => root.querySelector(selector);

// An element with attributes and children; strings become text nodes, so data is never parsed as HTML.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function setText(target, text) {
  const node = typeof target === "string" ? $(target) : target;
  node.textContent = text ?? "";
  return node;
}

// A timestamp of the API as a <time> element, shown in UTC.
export function timeEl(iso, empty = "") {
  if (!iso) return document.createTextNode(empty);
  return el("time", { datetime: iso }, formatDate(iso));
}

const dateFormat = new Intl.DateTimeFormat("en-GB", {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  timeZone: "UTC",
});

export function formatDate(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${dateFormat.format(date)} UTC`;
}

// ---- errors next to what caused them ----

let errorIds = 0;

function fieldFor(form, name) {
  if (!name) return null;
  for (const input of form.querySelectorAll("input, select, textarea")) {
    const names = (input.dataset.fields || input.name).split(" ");
    if (names.includes(name)) return input;
  }
  return null;
}

export function clearErrors(form) {
  for (const message of form.querySelectorAll(".field-error")) message.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => !id.startsWith("err-"));
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    else input.removeAttribute("aria-describedby");
  }
  const formError = form.querySelector("[data-form-error]");
  if (formError) formError.textContent = "";
}

// Show an error under the field it names (or `fallbackField`), else at the bottom of the form;
// move focus to the field so that keyboard and screen-reader users land on it.
export function showFormError(form, error, fallbackField = null) {
  clearErrors(form);
  const text = error.text ?? error.message ?? String(error);
  const input = fieldFor(form, error.field) ?? fieldFor(form, fallbackField);
  const formError = form.querySelector("[data-form-error]");
  if (input) {
    const id = `err-${++errorIds}`;
    // role=alert: a screen reader announces the message as it appears, beside its field.
    const message = el("p", { class: "field-error", id, role: "alert" }, text);
    input.closest(".field").append(message);
    input.setAttribute("aria-invalid", "true");
    const described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", described ? `${id} ${described}` : id);
    input.focus();
  } else if (formError) {
    formError.textContent = text;
  }
}

export function showError(target, error) {
  setText(target, error ? (error.text ?? error.message ?? String(error)) : "");
}

// Run `action` with the form's buttons disabled; show any error in the form.
export async function submitting(form, action, fallbackField = null) {
  const buttons = [...form.querySelectorAll("button")];
  buttons.forEach((button) => (button.disabled = true));
  form.setAttribute("aria-busy", "true");
  clearErrors(form);
  try {
    await action();
  } catch (error) {
    showFormError(form, error, fallbackField);
  } finally {
    buttons.forEach((button) => (button.disabled = false));
    form.removeAttribute("aria-busy");
  }
}

// Run `action` with one button disabled; errors go to `errorTarget`.
export async function pressing(button, errorTarget, action) {
  button.disabled = true;
  showError(errorTarget, null);
  try {
    await action();
  } catch (error) {
    showError(errorTarget, error);
  } finally {
    button.disabled = false;
  }
}

// ---- copy and download ----

export async function copyText(text, statusTarget) {
  try {
    await navigator.clipboard.writeText(text);
    setText(statusTarget, "Copied to the clipboard.");
  } catch {
    setText(statusTarget, "Could not copy automatically: select the text and copy it by hand.");
  }
}

export function download(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// ---- dialogs ----

// Open a modal dialog; focus returns to what had it when the dialog closes, or, if that is gone
// from view, to `returnTarget` (a selector, so that it is looked up at closing time).
export function openDialog(dialog, focusTarget = null, returnTarget = null) {
  const opener = document.activeElement;
  dialog.addEventListener(
    "close",
    () => {
      const visible = opener?.isConnected && opener.getClientRects().length > 0;
      const target = visible ? opener : returnTarget && $(returnTarget);
      target?.focus?.();
    },
    { once: true },
  );
  dialog.showModal();
  (focusTarget ?? dialog.querySelector("input, button"))?.focus();
}

export function confirmDialog(title, message, confirmLabel) {
  const dialog = $("#confirm-dialog");
  setText("#confirm-title", title);
  setText("#confirm-message", message);
  setText("#confirm-yes", confirmLabel);
  return new Promise((resolve) => {
    const yes = $("#confirm-yes");
    const no = $("#confirm-no");
    const finish = (answer) => {
      yes.removeEventListener("click", onYes);
      no.removeEventListener("click", onNo);
      dialog.removeEventListener("cancel", onNo);
      dialog.close();
      resolve(answer);
    };
    const onYes = () => finish(true);
    const onNo = () => finish(false);
    yes.addEventListener("click", onYes);
    no.addEventListener("click", onNo);
    dialog.addEventListener("cancel", onNo);
    openDialog(dialog, no);
  });
}
