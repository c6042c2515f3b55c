// Re-authentication: when a route answers 403 ReauthenticationRequiredError, api.js asks this
// dialog for the password (and a code when two-factor authentication is on), re-authenticates the
// session, and sends the original request again once.

import { api, codeBody, whenReauthenticationRequired } from "./api.js";
import { $, openDialog, submitting, clearErrors } from "./ui.js";

let pending = null; // the open prompt's promise, shared by requests that need it at once

function prompt() {
  if (pending) return pending;
  pending = new Promise((resolve) => {
    const dialog = $("#reauth-dialog");
    const form = $("#reauth-form");
    form.reset();
    clearErrors(form);
    let done = false;
    const finish = (answer) => {
      if (done) return;
      done = true;
      form.removeEventListener("submit", onSubmit);
      dialog.removeEventListener("close", onClose);
      if (dialog.open) dialog.close();
      form.reset();
      pending = null;
      resolve(answer);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      submitting(
        form,
        async () => {
          const body = { password: form.elements.password.value };
          const typed = form.elements.code.value.trim();
          if (!$("#reauth-code-field").hidden && typed) Object.assign(body, codeBody(typed));
          await api.reauthenticate(body);
          finish(true);
        },
        "password",
      );
    };
    const onClose = () => finish(false);
    form.addEventListener("submit", onSubmit);
    dialog.addEventListener("close", onClose);
    $("#reauth-code-field").hidden = true;
    openDialog(dialog, $("#reauth-password"));
    // The code field only when two-factor authentication is on.
    api
      .user()
      .then((user) => {
        $("#reauth-code-field").hidden = !user.two_factor_enabled;
      })
      .catch(() => {});
  });
  return pending;
}

export function init() {
  whenReauthenticationRequired(prompt);
  $("#reauth-cancel").addEventListener("click", () => $("#reauth-dialog").close());
}
