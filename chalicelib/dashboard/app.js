// The dashboard's entry point: views chosen by the URL's hash (#/login, #/signup,
// #/preferences/<tab>, and #device for a device login's approval), the account bar, and the
// Details tab.

import { api, devices, session, whenSessionEnds } from "./api.js";
import { $, setText, formatDate, showError } from "./ui.js";
import * as auth from "./auth.js";
import * as tokens from "./tokens.js";
import * as twoFactor from "./twofactor.js";
import * as passkeys from "./passkeys.js";
import * as applications from "./applications.js";
import * as reauth from "./reauth.js";
import * as people from "./people.js";
import * as events from "./events.js";
import * as account from "./account.js";
import * as device from "./device.js";

const VIEWS = ["login", "totp", "signup", "forgot", "reset", "verify", "preferences", "device"];
const TITLES = {
  login: "Log in",
  totp: "Two-factor authentication",
  signup: "Sign up",
  forgot: "Forgot password",
  reset: "New password",
  verify: "Email address",
  device: "Approve a device",
};
// A device login's link opened while signed out: shown again after the login.
const AFTER_LOGIN = "latchkey.afterLogin";
const ACCOUNT_VIEWS = ["forgot", "reset", "verify"];

const details = {
  title: "Details",
  async show() {
    showError("#details-error", null);
    try {
      const user = await api.user();
      setText("#detail-username", user.username);
      setText("#detail-email", user.email);
      setText("#detail-created", formatDate(user.created_at));
      setText("#detail-2fa", user.two_factor_enabled ? "On" : "Off");
      setText("#whoami", user.username);
      account.showDetails(user);
    } catch (error) {
      showError("#details-error", error);
    }
  },
  reset() {
    for (const id of ["#detail-username", "#detail-email", "#detail-created", "#detail-2fa"]) setText(id, "");
  },
};

const TABS = {
  details,
  tokens: { title: "Access tokens", show: tokens.show, reset: tokens.reset },
  "2fa": { title: "Two-factor authentication", show: twoFactor.show, reset: twoFactor.reset },
  passkeys: { title: "Passkeys", show: passkeys.show, reset: passkeys.reset },
  applications: { title: "Applications", show: applications.show, reset: applications.reset },
  people: { title: "People", show: people.show, reset: people.reset },
  security: { title: "Security log", show: events.show, reset: events.reset },
};
const TAB_ORDER = Object.keys(TABS);

let focusTabOnShow = false;

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

export function notify(text) {
  // The live region stays in the page (empty is invisible), so that screen readers announce changes.
  $("#notice").textContent = text ?? "";
}

function showView(name) {
  for (const view of VIEWS) $(`#view-${view}`).hidden = view !== name;
  const signedIn = Boolean(session.get());
  $("#account-nav").hidden = !signedIn;
  if (signedIn) setText("#whoami", session.get().username ?? "");
}

function focusHeading(view) {
  $(`#view-${view} h1`).focus();
}

function sessionExpired() {
  const expiresAt = Date.parse(session.get()?.expires_at ?? "");
  return Number.isFinite(expiresAt) && expiresAt <= Date.now();
}

function route() {
  account.takeMailLink(); // a mailed link opened in a tab already on the dashboard
  if (sessionExpired()) {
    logOut("Your session has ended. Log in again.");
    return;
  }
  const signedIn = Boolean(session.get());
  if (location.hash === "#device" || location.hash.startsWith("#device?")) {
    if (signedIn) return showDeviceView();
    sessionStorage.setItem(AFTER_LOGIN, location.hash);
    notify("Log in to approve the device.");
    history.replaceState(null, "", "#/login");
    return showAuthView("login");
  }
  const hash = location.hash.startsWith("#/") ? location.hash.slice(2) : "";
  const [view, tab] = hash.split("/");
  if (view === "preferences" && signedIn) return showPreferences(TABS[tab] ? tab : "details");
  if (view === "signup" && !signedIn) return showAuthView("signup");
  if (view === "login" && !signedIn) return showAuthView("login");
  if (view === "totp" && !signedIn && auth.hasPendingLogin()) return showAuthView("totp");
  if (view === "forgot" && !signedIn) return showAuthView("forgot");
  if ((view === "reset" || view === "verify") && account.hasLinkToken()) return showAuthView(view);
  history.replaceState(null, "", signedIn ? "#/preferences/details" : "#/login");
  return signedIn ? showPreferences("details") : showAuthView("login");
}

function showAuthView(view) {
  showView(view);
  document.title = `${TITLES[view]} · Latchkey`;
  if (ACCOUNT_VIEWS.includes(view)) account.prepare(view);
  else auth.prepare(view);
  // The second login step is one field, typed at once: focus it (its label says what it wants).
  if (view === "totp") $("#totp-code").focus();
  else if (view === "reset") $("#reset-password").focus();
  else focusHeading(view);
}

function showDeviceView() {
  showView("device");
  document.title = `${TITLES.device} · Latchkey`;
  device.prepare(location.hash);
  if (!$("#device-code").value) return;
  focusHeading("device");
}

function showPreferences(name) {
  const wasHidden = $("#view-preferences").hidden;
  showView("preferences");
  for (const key of TAB_ORDER) {
    const tab = $(`#tab-${key}`);
    const selected = key === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    $(`#panel-${key}`).hidden = !selected;
  }
  document.title = `${TABS[name].title} · Preferences · Latchkey`;
  if (focusTabOnShow) $(`#tab-${name}`).focus();
  else if (wasHidden) focusHeading("preferences");
  focusTabOnShow = false;
  TABS[name].show();
}

// The tabs follow the ARIA tabs pattern: arrow keys, Home and End move between them.
function onTabKey(event) {
  const index = TAB_ORDER.indexOf(event.target.id.replace("tab-", ""));
  const moves = {
    ArrowRight: index + 1,
    ArrowLeft: index - 1,
    Home: 0,
    End: TAB_ORDER.length - 1,
  };
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = TAB_ORDER[(moves[event.key] + TAB_ORDER.length) % TAB_ORDER.length];
  focusTabOnShow = true;
  go(`#/preferences/${next}`);
}

// Signed in (sign-up or login): keep the token, and the device token for this browser's next
// login (under the name typed and the username), and open the preferences.
export async function signedIn(reply, user = null, typedLogin = null) {
  session.save(reply.token, reply.expires_at, user?.username ?? null);
  let known = user;
  try {
    known ??= await api.user();
  } catch (error) {
    session.clear();
    throw error;
  }
  session.save(reply.token, reply.expires_at, known.username);
  devices.save([typedLogin, known.username, known.email], reply.device_token);
  notify(null);
  const next = sessionStorage.getItem(AFTER_LOGIN);
  sessionStorage.removeItem(AFTER_LOGIN);
  go(next ?? "#/preferences/details");
}

export function logOut(message) {
  session.clear();
  for (const tab of Object.values(TABS)) tab.reset();
  device.reset();
  setText("#whoami", "");
  notify(message);
  go("#/login");
}

function start() {
  // At /api (a stage's path without its slash) the page's links, resolved against <base>, would
  // leave the page: show the address with its slash, which is the same page.
  if (!location.pathname.endsWith("/")) {
    history.replaceState(null, "", `${location.pathname}/${location.search}${location.hash}`);
  }
  account.takeMailLink();
  auth.init({ signedIn, notify, go });
  account.init({ notify, go, logOut });
  tokens.init();
  twoFactor.init();
  passkeys.init();
  device.init();
  applications.init();
  people.init();
  events.init();
  $(".tabs").addEventListener("keydown", onTabKey);
  reauth.init();
  $("#logout").addEventListener("click", async (event) => {
    // End the session on the server first (its token stops working everywhere), then forget it;
    // a token the server no longer knows is forgotten all the same.
    const button = event.currentTarget;
    button.disabled = true;
    try {
      await api.logout();
    } catch {
      // Unreachable or already ended: nothing more to end.
    } finally {
      button.disabled = false;
    }
    logOut("You have logged out.");
  });
  whenSessionEnds(() => logOut("Your session has ended. Log in again."));
  window.addEventListener("hashchange", route);
  route();
}

start();
