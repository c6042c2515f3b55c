// The Latchkey API as the dashboard calls it: JSON in, JSON out, errors as ApiError.
// The session token lives in sessionStorage: it is gone when the tab closes. The device tokens
// (one per account logged in from this browser) live in localStorage: they are what lets this
// browser in while someone else's failed logins lock the account out elsewhere, and they are no
// credential on their own.

// The API is served beside the page: this file is <base>/dashboard/api.js, the API <base>/v1/...
const BASE = new URL("../", import.meta.url);
const STORAGE_KEY = "latchkey.session";
const DEVICES_KEY = "latchkey.devices";

export class ApiError extends Error {
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  // The request field the message names ("username: required" names "username"), if any.
  get field() {
    const match = /^([a-z_]+)(?:\[\d+\])?:/.exec(this.message);
    return match ? match[1] : null;
  }

  // The message for a person: the API's words, and how long to wait when told to.
  get text() {
    let text = this.message;
    if (this.retryAfter) {
      const minutes = Math.ceil(this.retryAfter / 60);
      text += this.retryAfter < 120 ? ` Try again in ${this.retryAfter} seconds.` : ` Try again in ${minutes} minutes.`;
    }
    return text;
  }
}

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    } catch {
      return null;
    }
  },
  save(token, expiresAt, username) {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ token, expires_at: expiresAt, username }));
  },
  clear() {
    sessionStorage.removeItem(STORAGE_KEY);
  },
};

// This browser's device tokens, by username (and by the email typed to log in), lower case.
export const devices = {
  all() {
    try {
      const stored = JSON.parse(localStorage.getItem(DEVICES_KEY) || "{}");
      return stored && typeof stored === "object" ? stored : {};
    } catch {
      return {};
    }
  },
  get(login) {
    const token = this.all()[String(login).toLowerCase()];
    return typeof token === "string" ? token : undefined;
  },
  save(logins, token) {
    if (typeof token !== "string") return;
    const stored = this.all();
    for (const login of logins) if (login) stored[String(login).toLowerCase()] = token;
    localStorage.setItem(DEVICES_KEY, JSON.stringify(stored));
  },
};

// Called when a (recent) route answers 403 ReauthenticationRequiredError: resolves true once the
// person has re-authenticated (the request is then sent again, once), false if they declined.
let onReauthenticationRequired = async () => false;
export function whenReauthenticationRequired(callback) {
  onReauthenticationRequired = callback;
}

// Called when the API refuses the stored session token (expired): the app logs out.
let onSessionEnded = () => {};
export function whenSessionEnds(callback) {
  onSessionEnded = callback;
}

async function call(method, path, options = {}) {
  try {
    return await send(method, path, options);
  } catch (error) {
    if (error.code !== "ReauthenticationRequiredError" || options.token !== undefined) throw error;
    if (!(await onReauthenticationRequired())) throw error;
    return send(method, path, options);
  }
}

async function send(method, path, { body, token } = {}) {
  const headers = { Accept: "application/json" };
  const credential = token === undefined ? session.get()?.token : token;
  if (credential) headers.Authorization = `Bearer ${credential}`;
  const init = { method, headers, credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer" };
  if (method !== "GET" && method !== "DELETE") {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(new URL(path, BASE), init);
  } catch {
    throw new ApiError(0, "NetworkError", "Could not reach Latchkey. Check your connection and try again.");
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  if (response.ok) return data;
  const code = data?.Code ?? "HttpError";
  // Only the API's own errors ({"Code", "Message"}) are shown as they are: the platform's answer
  // for a path it does not know can echo the request's headers, credential included.
  const message =
    typeof data?.Code === "string" && typeof data?.Message === "string"
      ? data.Message
      : response.status === 403 || response.status === 404
        ? `This server does not offer ${method} ${path.split("?")[0]} (it answered ${response.status}).`
        : `Latchkey answered ${response.status} and no explanation. Try again later.`;
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10) || null;
  const error = new ApiError(response.status, code, message, retryAfter);
  // A session token that no longer works: anything but the login steps means the session is over.
  if (response.status === 401 && code === "UnauthorizedError" && token === undefined && credential) {
    onSessionEnded(error);
  }
  throw error;
}

// Every item of a paginated list, following next_cursor.
async function all(path, field) {
  const items = [];
  let cursor = null;
  do {
    const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    const page = await call("GET", path + query);
    items.push(...page[field]);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

const seg = encodeURIComponent;

export const api = {
  signup: (username, email, password) => call("POST", "v1/signup", { body: { username, email, password }, token: null }),
  login: (username, password) => {
    const body = { username, password };
    const device = devices.get(username);
    if (device) body.device_token = device;
    return call("POST", "v1/login", { body, token: null });
  },
  loginSecondStep: (pendingToken, body) => call("POST", "v1/login/totp", { body, token: pendingToken }),
  passkeyLoginOptions: (pendingToken) =>
    call("POST", "v1/login/passkey/options", { body: pendingToken ? { pending_token: pendingToken } : {}, token: null }),
  passkeyLogin: (challengeId, credential, pendingToken) => {
    const body = { challenge_id: challengeId, credential };
    if (pendingToken) body.pending_token = pendingToken;
    return call("POST", "v1/login/passkey", { body, token: null });
  },
  user: () => call("GET", "v1/user"),
  verifyEmail: (token) => call("POST", "v1/email/verify", { body: { token }, token: null }),
  resendVerification: () => call("POST", "v1/user/email/verification"),
  changeEmail: (email) => call("POST", "v1/user/email", { body: { email } }),
  changePassword: (body) => call("POST", "v1/user/password", { body }),
  requestPasswordReset: (email) => call("POST", "v1/password-reset", { body: { email }, token: null }),
  confirmPasswordReset: (token, newPassword) =>
    call("POST", "v1/password-reset/confirm", { body: { token, new_password: newPassword }, token: null }),
  deleteAccount: (body) => call("POST", "v1/user/delete", { body }),
  refreshToken: () => call("POST", "v1/user/refresh-token"),
  reauthenticate: (body) => call("POST", "v1/user/reauthenticate", { body }),
  logout: () => call("POST", "v1/user/logout"),

  sessions: () => all("v1/user/sessions", "sessions"),
  endSession: (id) => call("DELETE", `v1/user/sessions/${seg(id)}`),
  endOtherSessions: () => call("POST", "v1/user/sessions/revoke-others"),

  apiKeys: () => all("v1/user/api-keys", "api_keys"),
  createApiKey: (body) => call("POST", "v1/user/api-keys", { body }),
  deleteApiKeys: (ids) => call("POST", "v1/user/api-keys/batch-delete", { body: { ids } }),
  rotateApiKey: (id, graceSeconds) =>
    call("POST", `v1/user/api-keys/${seg(id)}/rotate`, { body: { grace_seconds: graceSeconds } }),

  passkeys: () => all("v1/user/passkeys", "passkeys"),
  passkeyRegistrationOptions: () => call("POST", "v1/user/passkeys/registration/options"),
  addPasskey: (challengeId, credential, name) =>
    call("POST", "v1/user/passkeys", { body: { challenge_id: challengeId, credential, name } }),
  renamePasskey: (id, name) => call("PATCH", `v1/user/passkeys/${seg(id)}`, { body: { name } }),
  deletePasskey: (id) => call("DELETE", `v1/user/passkeys/${seg(id)}`),

  deviceLookup: (userCode) => call("POST", "v1/device/lookup", { body: { user_code: userCode } }),
  deviceApprove: (userCode) => call("POST", "v1/device/approve", { body: { user_code: userCode } }),
  deviceDeny: (userCode) => call("POST", "v1/device/deny", { body: { user_code: userCode } }),

  twoFactor: () => call("GET", "v1/user/2fa"),
  twoFactorSetup: () => call("POST", "v1/user/2fa/setup"),
  twoFactorEnable: (code) => call("POST", "v1/user/2fa/enable", { body: { code } }),
  twoFactorDisable: (body) => call("POST", "v1/user/2fa/disable", { body }),
  recoveryCodes: (code) => call("POST", "v1/user/2fa/recovery-codes", { body: { code } }),

  applications: () => all("v1/applications", "applications"),
  createApplication: (body) => call("POST", "v1/applications", { body }),
  updateApplication: (id, body) => call("PATCH", `v1/applications/${seg(id)}`, { body }),
  deleteApplication: (id) => call("DELETE", `v1/applications/${seg(id)}`),
  collaborators: (id) => all(`v1/applications/${seg(id)}/collaborators`, "collaborators"),
  putCollaborator: (id, username, role) =>
    call("PUT", `v1/applications/${seg(id)}/collaborators/${seg(username)}`, { body: { role } }),
  removeCollaborator: (id, username) => call("DELETE", `v1/applications/${seg(id)}/collaborators/${seg(username)}`),
  transferApplication: (id, username) => call("POST", `v1/applications/${seg(id)}/transfer`, { body: { username } }),

  people: () => all("v1/collaborators", "collaborators"),
  offboard: (username) => call("DELETE", `v1/collaborators/${seg(username)}`),

  userEvents: (limit, cursor) => call("GET", `v1/user/events?${page(limit, cursor)}`),
  applicationEvents: (id, limit, cursor) => call("GET", `v1/applications/${seg(id)}/events?${page(limit, cursor)}`),
};

function page(limit, cursor) {
  return `limit=${limit}` + (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");
}

// A code typed where either a TOTP code or a recovery code is accepted: 6 digits are a TOTP code.
export function codeBody(typed) {
  const value = typed.replace(/\s+/g, "");
  return /^\d{6}$/.test(value) ? { code: value } : { recovery_code: typed.trim() };
}
