// Approve a device: the page that a terminal's `latchkey login --web` links to (#device, or
// #device?user_code=BCDF-GHJK). The signed-in person sees which client asked, from which address
// and when, and approves (a recent-authentication action: api.js asks for the password first when
// the session's sign-in is older than the server allows) or denies.

import { api } from "./api.js";
import { $, formatDate, pressing, setText, showError, submitting } from "./ui.js";

let shownCode = null; // the user code on screen, looked up

export function codeFromHash(hash) {
  return new URLSearchParams(hash.split("?")[1] ?? "").get("user_code") ?? "";
}

// Called each time the view is shown: the code from the link, looked up at once.
export function prepare(hash) {
  reset();
  const code = codeFromHash(hash);
  $("#device-code").value = code;
  if (code) lookUp();
  else $("#device-code").focus();
}

export function reset() {
  shownCode = null;
  $("#device-form").hidden = false;
  $("#device-request").hidden = true;
  for (const id of ["#device-client", "#device-address", "#device-requested", "#device-shown-code"]) setText(id, "");
  setText("#device-status", "");
  showError("#device-error", null);
}

function lookUp() {
  const form = $("#device-form");
  return submitting(
    form,
    async () => {
      const request = await api.deviceLookup(form.elements.user_code.value.trim());
      shownCode = request.user_code;
      setText("#device-client", request.client_name);
      setText("#device-address", request.address ?? "unknown");
      setText("#device-requested", formatDate(request.requested_at));
      setText("#device-shown-code", request.user_code);
      form.hidden = true;
      $("#device-request").hidden = false;
      $("#device-approve").focus();
    },
    "user_code",
  );
}

function decided(text) {
  $("#device-request").hidden = true;
  setText("#device-status", text);
  shownCode = null;
}

export function init() {
  $("#device-form").addEventListener("submit", (event) => {
    event.preventDefault();
    lookUp();
  });
  $("#device-approve").addEventListener("click", (event) =>
    pressing(event.currentTarget, "#device-error", async () => {
      await api.deviceApprove(shownCode);
      decided("Approved. Go back to your terminal: it is logged in within a few seconds.");
    }),
  );
  $("#device-deny").addEventListener("click", (event) =>
    pressing(event.currentTarget, "#device-error", async () => {
      await api.deviceDeny(shownCode);
      decided("Denied. The device was told so and logs in with nothing.");
    }),
  );
}
