// Sign up and the two steps of logging in. The pending token of step two is kept in memory only:
// it lives 5 minutes and is good for nothing but the second step.

import { api, codeBody } from "./api.js";
import * as passkeys from "./passkeys.js";
import { $, clearErrors, showError, submitting } from "./ui.js";

let pendingToken = null;
let pendingLogin = null; // the name typed at step one, to keep the device token under
let app = null;

export function hasPendingLogin() {
  return pendingToken !== null;
}

// Called each time a view is shown: forms start empty of errors (and of secrets).
export function prepare(view) {
  const form = $(`#${view}-form`);
  clearErrors(form);
  for (const input of form.querySelectorAll("input[type=password], #totp-code")) input.value = "";
}

export function init(hooks) {
  app = hooks;

  $("#signup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    app.notify(null);
    submitting(form, async () => {
      const { username, email, password } = form.elements;
      const reply = await api.signup(username.value.trim(), email.value.trim(), password.value);
      form.reset();
      await app.signedIn(reply, reply.user);
    });
  });

  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    app.notify(null);
    submitting(
      form,
      async () => {
        const { username, password } = form.elements;
        const login = username.value.trim();
        const reply = await api.login(login, password.value);
        password.value = "";
        if (reply.two_factor_required) {
          pendingToken = reply.token;
          pendingLogin = login;
          app.go("#/totp");
        } else {
          await app.signedIn(reply, null, login);
        }
      },
      "password",
    );
  });

  $("#totp-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(
      form,
      async () => {
        try {
          const reply = await api.loginSecondStep(pendingToken, codeBody(form.elements.code.value));
          const login = pendingLogin;
          pendingToken = null;
          pendingLogin = null;
          form.reset();
          await app.signedIn(reply, null, login);
        } catch (error) {
          // Too many wrong codes, or five minutes gone: the pending token is dead; start again.
          if (error.code === "UnauthorizedError") {
            pendingToken = null;
            app.notify(`${error.text} Log in again.`);
            app.go("#/login");
            return;
          }
          throw error;
        }
      },
      "code",
    );
  });

  // A passkey: the whole login with no username, or the second step instead of a code.
  $("#login-passkey").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    app.notify(null);
    button.disabled = true;
    showError("#login-passkey-error", null);
    try {
      await app.signedIn(await passkeys.signIn());
    } catch (error) {
      showError("#login-passkey-error", error);
    } finally {
      button.disabled = false;
    }
  });

  $("#totp-passkey").addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    showError("#totp-passkey-error", null);
    try {
      const reply = await passkeys.signIn(pendingToken);
      const login = pendingLogin;
      pendingToken = null;
      pendingLogin = null;
      await app.signedIn(reply, null, login);
    } catch (error) {
      showError("#totp-passkey-error", error);
    } finally {
      button.disabled = false;
    }
  });

  $("#totp-cancel").addEventListener("click", () => {
    pendingToken = null;
    app.go("#/login");
  });
}
