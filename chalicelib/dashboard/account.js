// The life of an account: the pages that mailed links open (verify an address, choose a new
// password), "Forgot password?", and in Details the verification banner, changing the password
// and the email, and deleting the account. A link's token is read from the URL's fragment once,
// kept in memory only, and the fragment replaced, so that it stays in no history entry.

import { api, codeBody, session } from "./api.js";
import { $, clearErrors, confirmDialog, pressing, setText, showError, submitting } from "./ui.js";

const LINK_VIEWS = { "verify-email": "#/verify", "reset-password": "#/reset", "forgot-password": "#/forgot" };
let linkToken = null;
let app = null;

// A mailed link (#action=…&token=…): keep its token, and the view it asks for instead of it.
export function takeMailLink() {
  if (!location.hash.startsWith("#action=")) return;
  const params = new URLSearchParams(location.hash.slice(1));
  linkToken = params.get("token");
  const view = LINK_VIEWS[params.get("action")] ?? "#/login";
  history.replaceState(null, "", `${location.pathname}${location.search}${view}`);
}

export function hasLinkToken() {
  return linkToken !== null;
}

export function prepare(view) {
  const form = $(`#${view}-form`);
  if (form) {
    clearErrors(form);
    for (const input of form.querySelectorAll("input[type=password]")) input.value = "";
  }
  if (view === "forgot") setText("#forgot-status", "");
  if (view === "verify") verify();
}

async function verify() {
  setText("#verify-status", "Verifying your address…");
  showError("#verify-error", null);
  const signedIn = Boolean(session.get());
  $("#verify-continue").setAttribute("href", signedIn ? "#/preferences/details" : "#/login");
  const token = linkToken;
  linkToken = null;
  try {
    if (!token) throw new Error("This page needs the link from your mail.");
    const reply = await api.verifyEmail(token);
    setText("#verify-status", `Your address ${reply.email} is verified.`);
  } catch (error) {
    setText("#verify-status", "");
    showError("#verify-error", error);
  }
}

// Details: the banner while the address is unverified, and whether deleting needs a code.
export function showDetails(user) {
  $("#verify-banner").hidden = user.email_verified;
  setText("#verify-resend-status", "");
  showError("#verify-resend-error", null);
  $("#delete-code-field").hidden = !user.two_factor_enabled;
  for (const id of ["#password-status", "#email-status"]) setText(id, "");
  for (const id of ["#password-form", "#email-form", "#delete-form"]) clearErrors($(id));
}

export function init(hooks) {
  app = hooks;

  $("#forgot-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(form, async () => {
      const email = form.elements.email.value.trim();
      await api.requestPasswordReset(email);
      setText("#forgot-status", `If an account has the address ${email}, a link to choose a new password is on its way.`);
    });
  });

  $("#reset-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(form, async () => {
      if (!linkToken) throw new Error("This page needs the link from your mail: ask for a new one.");
      await api.confirmPasswordReset(linkToken, form.elements.new_password.value);
      linkToken = null;
      form.reset();
      session.clear(); // every session of the account has ended, this tab's included
      app.notify("Your password is changed. Log in with the new one.");
      app.go("#/login");
    });
  });

  $("#verify-resend").addEventListener("click", (event) =>
    pressing(event.currentTarget, "#verify-resend-error", async () => {
      await api.resendVerification();
      setText("#verify-resend-status", "A new link is on its way; the earlier ones no longer work.");
    }),
  );

  $("#password-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    setText("#password-status", "");
    submitting(form, async () => {
      const { current_password, new_password } = form.elements;
      const reply = await api.changePassword({
        current_password: current_password.value,
        new_password: new_password.value,
      });
      form.reset();
      const n = reply.other_sessions_ended;
      setText("#password-status", `Password changed. ${n} other session${n === 1 ? "" : "s"} ended.`);
    });
  });

  $("#email-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    setText("#email-status", "");
    submitting(form, async () => {
      const reply = await api.changeEmail(form.elements.email.value.trim());
      form.reset();
      setText("#email-status", `A link is on its way to ${reply.pending_email}: your address changes when you open it.`);
    });
  });

  $("#delete-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    submitting(form, async () => {
      const confirmed = await confirmDialog(
        "Delete your account?",
        "Everything of your account is deleted at once, and cannot be brought back.",
        "Delete account",
      );
      if (!confirmed) return;
      const { password, code } = form.elements;
      const body = { password: password.value };
      if (!$("#delete-code-field").hidden && code.value.trim()) Object.assign(body, codeBody(code.value));
      await api.deleteAccount(body);
      form.reset();
      app.logOut("Your account has been deleted.");
    });
  });
}
