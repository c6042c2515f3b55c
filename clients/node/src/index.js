// Latchkey's Node.js SDK: one method per operation of the HTTP API, over Node 20's global fetch.
//
//   import { Client } from "latchkey";
//   const client = new Client();                 // LATCHKEY_URL, LATCHKEY_TOKEN from the environment
//   await client.login("alice", "correct horse battery");
//   const key = await client.createApiKey("ci"); // key.key is shown only this once
//   for await (const k of client.iterApiKeys()) console.log(k.name, k.prefix);
//
// Results are the API's JSON (timestamps stay RFC 3339 strings). Errors are ApiError subclasses,
// one per error Code, carrying `code`, `status`, `message` and `retryAfter` (seconds). Requests
// refused with 429 or 503 are retried after their Retry-After, a bounded number of times
// (`maxAttempts`) within a bounded total wait (`maxRetryWait`, milliseconds): both refusals mean
// nothing was done, so retrying a POST is safe. Every request has a `timeout` (milliseconds).

export const VERSION = "0.1.0";
export const DEFAULT_URL = "http://127.0.0.1:8000";
export const PERMISSIONS = Object.freeze(["read", "write", "operate", "manage_collaborators", "delete"]);
export const COLLABORATOR_ROLES = Object.freeze(["developer", "operator", "observer"]);
const BATCH_DELETE_MAX = 100;
const RETRIED_STATUSES = new Set([429, 503]);

/** Anything this module throws. */
export class LatchkeyError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

/** The server could not be reached, or did not answer in time (`timedOut`). */
export class NetworkError extends LatchkeyError {
  constructor(message, { timedOut = false, cause } = {}) {
    super(message);
    this.timedOut = timedOut;
    if (cause !== undefined) this.cause = cause;
  }
}

/** The API answered with an error: `status`, `code` (the body's Code), `message`, `retryAfter`. */
export class ApiError extends LatchkeyError {
  static code = "ApiError";

  constructor(message, { status, code, retryAfter = null, body = null, noRoute = false } = {}) {
    super(message);
    this.status = status;
    this.code = code ?? new.target.code;
    this.retryAfter = retryAfter;
    this.body = body;
    this.noRoute = noRoute;
  }
}

export class BadRequestError extends ApiError { static code = "BadRequestError"; }
export class InvalidTotpCodeError extends ApiError { static code = "InvalidTotpCodeError"; }
export class InvalidPasswordError extends ApiError { static code = "InvalidPasswordError"; }
export class UnauthorizedError extends ApiError { static code = "UnauthorizedError"; }
export class InvalidCredentialsError extends ApiError { static code = "InvalidCredentialsError"; }
export class ForbiddenError extends ApiError { static code = "ForbiddenError"; }
export class ReauthenticationRequiredError extends ApiError { static code = "ReauthenticationRequiredError"; }
export class NotFoundError extends ApiError { static code = "NotFoundError"; }
export class ConflictError extends ApiError { static code = "ConflictError"; }
export class UnsupportedMediaType extends ApiError { static code = "UnsupportedMediaType"; }
export class TooManyRequestsError extends ApiError { static code = "TooManyRequestsError"; }
export class ServiceUnavailableError extends ApiError { static code = "ServiceUnavailableError"; }
export class InternalServerError extends ApiError { static code = "InternalServerError"; }
export class PasskeyChallengeError extends BadRequestError { static code = "PasskeyChallengeError"; }
export class InvalidPasskeyError extends ApiError { static code = "InvalidPasskeyError"; }
export class PasskeyCloneError extends ApiError { static code = "PasskeyCloneError"; }
export class PasskeyNotFoundError extends NotFoundError { static code = "PasskeyNotFoundError"; }
// Polling a device login (RFC 8628 section 3.5): the Code is the RFC's error word.
export class DeviceLoginError extends BadRequestError { static code = "DeviceLoginError"; }
export class AuthorizationPendingError extends DeviceLoginError { static code = "authorization_pending"; }
export class SlowDownError extends DeviceLoginError { static code = "slow_down"; }
export class AccessDeniedError extends DeviceLoginError { static code = "access_denied"; }
export class ExpiredTokenError extends DeviceLoginError { static code = "expired_token"; }
export class InvalidGrantError extends DeviceLoginError { static code = "invalid_grant"; }
export class DeviceCodeNotFoundError extends NotFoundError { static code = "DeviceCodeNotFoundError"; }

const ERRORS_BY_CODE = Object.fromEntries(
  [
    BadRequestError, InvalidTotpCodeError, InvalidPasswordError, UnauthorizedError, InvalidCredentialsError,
    ForbiddenError, ReauthenticationRequiredError, NotFoundError, ConflictError, UnsupportedMediaType,
    TooManyRequestsError, ServiceUnavailableError, InternalServerError,
    PasskeyChallengeError, InvalidPasskeyError, PasskeyCloneError, PasskeyNotFoundError,
    AuthorizationPendingError, SlowDownError, AccessDeniedError, ExpiredTokenError, InvalidGrantError,
    DeviceCodeNotFoundError,
  ].map((cls) => [cls.code, cls]),
);
const ERRORS_BY_STATUS = {
  400: BadRequestError, 401: UnauthorizedError, 403: ForbiddenError, 404: NotFoundError, 409: ConflictError,
  415: UnsupportedMediaType, 429: TooManyRequestsError, 500: InternalServerError, 503: ServiceUnavailableError,
};

/** The error for a reply: by its Code, else by its status. `request` is "METHOD /path". */
export function errorFor(status, body, retryAfter, request = "") {
  const isObject = body !== null && typeof body === "object";
  const code = isObject && typeof body.Code === "string" ? body.Code : null;
  if (code === null && status === 403) {
    // The platform's answer to a path that matches no route. Its text is not passed on: Chalice's
    // local server echoes the Authorization header in it, the credential included.
    return new ForbiddenError(`the server has no route for ${request || "this request"}`, {
      status, retryAfter, noRoute: true,
    });
  }
  const cls = ERRORS_BY_CODE[code] ?? ERRORS_BY_STATUS[status] ?? ApiError;
  let message = isObject ? (body.Message ?? body.message) : null;
  if (typeof message !== "string") message = typeof body === "string" && body ? body : `HTTP ${status}`;
  return new cls(message, { status, code: code ?? cls.code, retryAfter, body });
}

/** The seconds of a Retry-After header (delta-seconds or an HTTP date), or null. */
export function parseRetryAfter(value) {
  if (!value) return null;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const when = Date.parse(text);
  return Number.isNaN(when) ? null : Math.max(0, (when - Date.now()) / 1000);
}

function env(name) {
  return typeof process !== "undefined" && process.env ? process.env[name] || undefined : undefined;
}

function segment(value) {
  if (typeof value !== "string" || value === "") throw new TypeError("an empty id or username");
  return encodeURIComponent(value);
}

function codeBody(code, recoveryCode) {
  if ((code == null) === (recoveryCode == null)) throw new TypeError("give exactly one of code and recoveryCode");
  return code != null ? { code } : { recovery_code: recoveryCode };
}

function timestamp(value) {
  if (value instanceof Date) return value.toISOString().replace(/\.\d{3}Z$/, "Z");
  return value;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client of one Latchkey server, holding at most one credential (`token`) and a `deviceToken`.
 * signup, login and loginTotp keep the token they get (and the device token of a completed login,
 * sent with the next login so that this client is a known device); logout forgets it.
 */
export class Client {
  constructor({
    url, token, deviceToken = null, timeout = 10_000, maxAttempts = 4, maxRetryWait = 60_000, userAgent,
    fetch: fetchImpl, sleep: sleepImpl,
  } = {}) {
    if (!(maxAttempts >= 1)) throw new RangeError("maxAttempts: at least 1");
    this.url = (url || env("LATCHKEY_URL") || DEFAULT_URL).replace(/\/+$/, "");
    this.token = token !== undefined ? token || null : env("LATCHKEY_TOKEN") || null;
    this.deviceToken = deviceToken;
    this.timeout = timeout;
    this.maxAttempts = maxAttempts;
    this.maxRetryWait = maxRetryWait;
    this.userAgent = userAgent ?? `latchkey-node/${VERSION}`;
    this._fetch = fetchImpl ?? globalThis.fetch.bind(globalThis);
    this._sleep = sleepImpl ?? sleep;
  }

  // ---- health ----

  health() { return this._call("GET", "/v1/health", { auth: false }); }
  openapi() { return this._call("GET", "/v1/openapi.json", { auth: false }); }

  // ---- sign up, log in, sessions ----

  async signup(username, email, password) {
    const reply = await this._call("POST", "/v1/signup", { body: { username, email, password }, auth: false });
    this._keep(reply);
    return reply;
  }

  /** Log in; with two-factor on the reply's token is a pending one: finish with loginTotp. */
  async login(username, password, { deviceToken } = {}) {
    const body = { username, password };
    const device = deviceToken ?? this.deviceToken;
    if (device) body.device_token = device;
    const reply = await this._call("POST", "/v1/login", { body, auth: false });
    this._keep(reply);
    return reply;
  }

  /** The second login step with the pending token this client holds: `{code}` or `{recoveryCode}`. */
  async loginTotp({ code, recoveryCode } = {}) {
    const reply = await this._call("POST", "/v1/login/totp", { body: codeBody(code, recoveryCode) });
    this._keep(reply);
    return reply;
  }

  async refreshToken() {
    const reply = await this._call("POST", "/v1/user/refresh-token");
    this.token = reply.token;
    return reply;
  }

  reauthenticate(password, { code, recoveryCode } = {}) {
    const body = { password };
    if (code != null) body.code = code;
    if (recoveryCode != null) body.recovery_code = recoveryCode;
    return this._call("POST", "/v1/user/reauthenticate", { body });
  }

  async logout() {
    await this._call("POST", "/v1/user/logout");
    this.token = null;
  }

  /** Begin registering a passkey: `{challenge_id, options}` for navigator.credentials.create (as JSON). */
  passkeyRegistrationOptions() { return this._call("POST", "/v1/user/passkeys/registration/options"); }
  /** Register the browser's attestation (`PublicKeyCredential.toJSON()`) for `challengeId`. */
  registerPasskey(challengeId, credential, { name } = {}) {
    const body = { challenge_id: challengeId, credential };
    if (name != null) body.name = name;
    return this._call("POST", "/v1/user/passkeys", { body });
  }
  listPasskeys(page = {}) { return this._page("/v1/user/passkeys", page); }
  iterPasskeys(options = {}) { return this._iterate("/v1/user/passkeys", "passkeys", options); }
  renamePasskey(id, name) { return this._call("PATCH", `/v1/user/passkeys/${segment(id)}`, { body: { name } }); }
  async deletePasskey(id) { await this._call("DELETE", `/v1/user/passkeys/${segment(id)}`); }
  /** Begin a passkey login: `{challenge_id, options}` for navigator.credentials.get. */
  passkeyLoginOptions({ pendingToken } = {}) {
    return this._call("POST", "/v1/login/passkey/options", { body: pendingToken ? { pending_token: pendingToken } : {}, auth: false });
  }
  /** Log in with the browser's assertion for `challengeId`; the client keeps the token, as login does. */
  async loginWithPasskey(challengeId, credential, { pendingToken } = {}) {
    const body = { challenge_id: challengeId, credential };
    if (pendingToken) body.pending_token = pendingToken;
    if (this.deviceToken) body.device_token = this.deviceToken;
    const reply = await this._call("POST", "/v1/login/passkey", { body, auth: false });
    this._keep(reply);
    return reply;
  }

  // ---- device login (RFC 8628): a terminal logs in through the browser ----

  /**
   * Begin a device login for `clientName` (what the approval page shows): `{device_code, user_code,
   * verification_uri, verification_uri_complete, expires_in, interval}`. Show the code and the link.
   */
  startDeviceLogin(clientName) {
    return this._call("POST", "/v1/device/code", { body: { client_name: clientName }, auth: false });
  }
  /**
   * Wait for the approval of `started` (startDeviceLogin's reply), polling every `interval` seconds
   * (5 more after each slow_down), and resolve to the login's reply; the client keeps its tokens,
   * as login does. With `{ wait: false }`, poll once: null while pending. Rejects with
   * AccessDeniedError, ExpiredTokenError or InvalidGrantError.
   */
  async pollDeviceLogin(started, { wait = true } = {}) {
    let interval = started.interval;
    for (;;) {
      if (wait) await this._sleep(interval * 1000);
      try {
        const reply = await this._call("POST", "/v1/device/token", { body: { device_code: started.device_code }, auth: false });
        this._keep(reply);
        return reply;
      } catch (error) {
        if (error instanceof AuthorizationPendingError && wait) continue;
        if (error instanceof AuthorizationPendingError) return null;
        if (!(error instanceof SlowDownError) || !wait) throw error;
        interval += 5;
      }
    }
  }
  /** The pending device login of a user code: `{user_code, client_name, address, user_agent, requested_at, expires_at}`. */
  deviceLoginRequest(userCode) { return this._call("POST", "/v1/device/lookup", { body: { user_code: userCode } }); }
  /** Approve a device login (recent authentication): its next poll gets a session of yours. */
  approveDeviceLogin(userCode) { return this._call("POST", "/v1/device/approve", { body: { user_code: userCode } }); }
  /** Deny a device login: its next poll gets access_denied. */
  denyDeviceLogin(userCode) { return this._call("POST", "/v1/device/deny", { body: { user_code: userCode } }); }

  listSessions(page = {}) { return this._page("/v1/user/sessions", page); }
  iterSessions(options = {}) { return this._iterate("/v1/user/sessions", "sessions", options); }
  async revokeSession(id) { await this._call("DELETE", `/v1/user/sessions/${segment(id)}`); }
  async revokeOtherSessions() { return (await this._call("POST", "/v1/user/sessions/revoke-others")).revoked; }

  // ---- the current user, password, email, the account ----

  getUser() { return this._call("GET", "/v1/user"); }

  async changePassword(currentPassword, newPassword) {
    const body = { current_password: currentPassword, new_password: newPassword };
    return (await this._call("POST", "/v1/user/password", { body })).other_sessions_ended;
  }

  async requestPasswordReset(email) {
    await this._call("POST", "/v1/password-reset", { body: { email }, auth: false });
  }

  async confirmPasswordReset(token, newPassword) {
    await this._call("POST", "/v1/password-reset/confirm", { body: { token, new_password: newPassword }, auth: false });
  }

  verifyEmail(token) { return this._call("POST", "/v1/email/verify", { body: { token }, auth: false }); }
  async resendVerification() { await this._call("POST", "/v1/user/email/verification"); }
  async changeEmail(email) { return (await this._call("POST", "/v1/user/email", { body: { email } })).pending_email; }

  async deleteAccount(password, { code, recoveryCode } = {}) {
    const body = { password };
    if (code != null) body.code = code;
    if (recoveryCode != null) body.recovery_code = recoveryCode;
    await this._call("POST", "/v1/user/delete", { body });
    this.token = null;
  }

  // ---- API keys ----

  /** Create a key; `key` is in the reply and never again. `expiresAt` null/absent: never. */
  createApiKey(name, { description, expiresAt, applications, permissions } = {}) {
    const body = { name };
    if (description != null) body.description = description;
    if (expiresAt != null) body.expires_at = timestamp(expiresAt);
    if (applications != null || permissions != null) {
      body.scope = { applications: applications ?? null, permissions: permissions ?? null };
    }
    return this._call("POST", "/v1/user/api-keys", { body });
  }

  listApiKeys(page = {}) { return this._page("/v1/user/api-keys", page); }
  iterApiKeys(options = {}) { return this._iterate("/v1/user/api-keys", "api_keys", options); }
  async deleteApiKey(id) { await this._call("DELETE", `/v1/user/api-keys/${segment(id)}`); }

  /** Revoke any number of keys (sent 100 at a time): `{deleted, not_found}`. */
  async deleteApiKeys(ids) {
    const unique = [...new Set(ids)];
    if (unique.length === 0) throw new TypeError("ids: at least one id");
    const result = { deleted: [], not_found: [] };
    for (let start = 0; start < unique.length; start += BATCH_DELETE_MAX) {
      const body = { ids: unique.slice(start, start + BATCH_DELETE_MAX) };
      const reply = await this._call("POST", "/v1/user/api-keys/batch-delete", { body });
      result.deleted.push(...reply.deleted);
      result.not_found.push(...reply.not_found);
    }
    return result;
  }

  rotateApiKey(id, { graceSeconds } = {}) {
    const body = graceSeconds != null ? { grace_seconds: graceSeconds } : {};
    return this._call("POST", `/v1/user/api-keys/${segment(id)}/rotate`, { body });
  }

  // ---- two-factor authentication ----

  twoFactorStatus() { return this._call("GET", "/v1/user/2fa"); }
  setupTwoFactor() { return this._call("POST", "/v1/user/2fa/setup"); }
  async enableTwoFactor(code) {
    return (await this._call("POST", "/v1/user/2fa/enable", { body: { code } })).recovery_codes;
  }
  async disableTwoFactor({ code, recoveryCode } = {}) {
    await this._call("POST", "/v1/user/2fa/disable", { body: codeBody(code, recoveryCode) });
  }
  async regenerateRecoveryCodes(code) {
    return (await this._call("POST", "/v1/user/2fa/recovery-codes", { body: { code } })).recovery_codes;
  }

  // ---- applications and collaborators ----

  createApplication(name, { description } = {}) {
    const body = { name };
    if (description != null) body.description = description;
    return this._call("POST", "/v1/applications", { body });
  }

  listApplications(page = {}) { return this._page("/v1/applications", page); }
  iterApplications(options = {}) { return this._iterate("/v1/applications", "applications", options); }
  getApplication(id) { return this._call("GET", `/v1/applications/${segment(id)}`); }

  /** `{name?, description?}`: a description of null clears it; an absent field is kept. */
  updateApplication(id, changes = {}) {
    const body = {};
    if (changes.name !== undefined) body.name = changes.name;
    if (changes.description !== undefined) body.description = changes.description;
    return this._call("PATCH", `/v1/applications/${segment(id)}`, { body });
  }

  async deleteApplication(id) { await this._call("DELETE", `/v1/applications/${segment(id)}`); }

  transferApplication(id, username) {
    return this._call("POST", `/v1/applications/${segment(id)}/transfer`, { body: { username } });
  }

  listCollaborators(appId, page = {}) { return this._page(`/v1/applications/${segment(appId)}/collaborators`, page); }
  iterCollaborators(appId, options = {}) {
    return this._iterate(`/v1/applications/${segment(appId)}/collaborators`, "collaborators", options);
  }

  /** Share an application (or change the role): the Collaborator, with `added` false if they already were one. */
  async addCollaborator(appId, username, role) {
    const path = `/v1/applications/${segment(appId)}/collaborators/${segment(username)}`;
    const { status, body } = await this._request("PUT", path, { body: { role } });
    return { ...body, added: status === 201 };
  }

  async removeCollaborator(appId, username) {
    await this._call("DELETE", `/v1/applications/${segment(appId)}/collaborators/${segment(username)}`);
  }

  listOrganizationCollaborators(page = {}) { return this._page("/v1/collaborators", page); }
  iterOrganizationCollaborators(options = {}) { return this._iterate("/v1/collaborators", "collaborators", options); }
  async offboardCollaborator(username) {
    return (await this._call("DELETE", `/v1/collaborators/${segment(username)}`)).removed_from;
  }

  // ---- security and audit logs ----

  listEvents(page = {}) { return this._page("/v1/user/events", page); }
  iterEvents(options = {}) { return this._iterate("/v1/user/events", "events", options); }
  listApplicationEvents(appId, page = {}) { return this._page(`/v1/applications/${segment(appId)}/events`, page); }
  iterApplicationEvents(appId, options = {}) {
    return this._iterate(`/v1/applications/${segment(appId)}/events`, "events", options);
  }

  // ---- the wire ----

  _keep(reply) {
    this.token = reply.token;
    if (reply.device_token) this.deviceToken = reply.device_token;
  }

  _page(path, { limit, cursor } = {}) {
    const query = new URLSearchParams();
    if (limit != null) query.set("limit", String(limit));
    if (cursor != null) query.set("cursor", cursor);
    const qs = query.toString();
    return this._call("GET", qs ? `${path}?${qs}` : path);
  }

  async *_iterate(path, key, { pageSize } = {}) {
    let cursor = null;
    for (;;) {
      const page = await this._page(path, { limit: pageSize, cursor });
      yield* page[key];
      if (!page.next_cursor) return;
      if (page.next_cursor === cursor) throw new LatchkeyError(`${path}: the server returned the same cursor twice`);
      cursor = page.next_cursor;
    }
  }

  async _call(method, path, options = {}) {
    return (await this._request(method, path, options)).body;
  }

  async _request(method, path, { body, auth = true } = {}) {
    const headers = { Accept: "application/json", "User-Agent": this.userAgent };
    if (auth && this.token) headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const request = `${method} ${path.split("?")[0]}`;
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      let response;
      let text;
      try {
        response = await this._fetch(this.url + path, {
          method,
          headers,
          body: body !== undefined ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(this.timeout),
        });
        text = await response.text(); // within the same timeout: a reply that stalls midway is one too
      } catch (error) {
        if (error?.name === "TimeoutError" || error?.name === "AbortError") {
          throw new NetworkError(`${this.url} did not answer within ${this.timeout} ms`, { timedOut: true, cause: error });
        }
        throw new NetworkError(`cannot reach ${this.url}: ${error?.cause?.code ?? error?.message ?? error}`, { cause: error });
      }
      const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
      if (RETRIED_STATUSES.has(response.status) && attempt < this.maxAttempts) {
        const delay = (retryAfter ?? 1) * 1000;
        if (waited + delay <= this.maxRetryWait) {
          await this._sleep(delay);
          waited += delay;
          continue;
        }
      }
      let parsed = null;
      if (text) {
        try { parsed = JSON.parse(text); } catch { parsed = text; }
      }
      if (response.status >= 400) throw errorFor(response.status, parsed, retryAfter, request);
      return { status: response.status, body: parsed };
    }
  }
}
