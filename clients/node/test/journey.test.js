// The Node SDK's journey against a running server (LATCHKEY_URL): the same as the Python SDK's.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  AccessDeniedError, ApiError, BadRequestError, DeviceCodeNotFoundError, InvalidGrantError, Client, ConflictError, ForbiddenError, InvalidCredentialsError, InvalidPasswordError,
  InvalidTotpCodeError, NotFoundError, PasskeyChallengeError, PasskeyNotFoundError, TooManyRequestsError,
  UnauthorizedError,
} from "../src/index.js";
import { SoftwareAuthenticator } from "../support/authenticator.js";
import { PASSWORD, URL, lastMailToken, totp, uniqueName } from "../support/testing.js";

const NEW_PASSWORD = "a different long secret";

async function signedUp(prefix = "node") {
  const client = new Client({ url: URL, token: "" });
  const username = uniqueName(prefix);
  const reply = await client.signup(username, `${username}@example.com`, PASSWORD);
  return { client, username, reply };
}

async function bearer(credential, path = "/v1/user") {
  return fetch(URL + path, { headers: { Authorization: `Bearer ${credential}` } });
}

test("health, sign up, log in, refresh and the user", async () => {
  const anonymous = new Client({ url: URL, token: "" });
  assert.deepEqual(await anonymous.health(), { status: "ok" });
  assert.match((await anonymous.openapi()).openapi, /^3\.1/);
  const { client, username, reply } = await signedUp();
  assert.equal(reply.user.username, username);
  assert.equal(client.token, reply.token);
  const login = await client.login(username.toUpperCase(), PASSWORD);
  assert.equal(login.two_factor_required, false);
  assert.equal(client.token, login.token);
  assert.equal((await client.getUser()).id, reply.user.id);
  const old = client.token;
  const refreshed = await client.refreshToken();
  assert.notEqual(refreshed.token, old);
  assert.equal(client.token, refreshed.token);
  assert.equal((await new Client({ url: URL, token: old }).getUser()).username, username);
});

test("API keys: create, use, list across pages, delete, batch-delete", async () => {
  const { client, username } = await signedUp();
  const created = await client.createApiKey("ci", { description: "deploys", expiresAt: new Date("2031-01-01T00:00:00Z") });
  assert.match(created.key, /^lk_/);
  assert.equal(created.prefix, created.key.slice(0, 8));
  assert.equal(created.expires_at, "2031-01-01T00:00:00Z");
  assert.equal((await (await bearer(created.key)).json()).username, username);

  const byKey = new Client({ url: URL, token: created.key });
  await assert.rejects(byKey.createApiKey("more"), (error) => {
    assert.ok(error instanceof ForbiddenError && error instanceof ApiError);
    assert.equal(error.status, 403);
    assert.equal(error.code, "ForbiddenError");
    return true;
  });

  const more = [];
  for (let i = 0; i < 3; i++) more.push((await client.createApiKey(`k${i}`)).id);
  const first = await client.listApiKeys({ limit: 1 });
  assert.deepEqual(first.api_keys.map((k) => k.id), [created.id]);
  assert.ok(first.next_cursor);
  const all = [];
  for await (const key of client.iterApiKeys({ pageSize: 1 })) all.push(key.id);
  assert.deepEqual(all, [created.id, ...more]);
  assert.ok(!JSON.stringify(first).includes(created.key));

  await client.deleteApiKey(more[0]);
  await assert.rejects(client.deleteApiKey(more[0]), NotFoundError);
  assert.deepEqual(await client.deleteApiKeys([more[1], more[2], "nope"]), { deleted: [more[1], more[2]], not_found: ["nope"] });
  await client.deleteApiKeys([created.id]);
  assert.equal((await bearer(created.key)).status, 401);
});

test("two-factor: enable, log in with a code and with a recovery code, disable", async () => {
  const { client, username } = await signedUp("tfa");
  const setup = await client.setupTwoFactor();
  assert.match(setup.otpauth_uri, /^otpauth:\/\/totp\/Latchkey:/);
  const start = Date.now() / 1000;
  await assert.rejects(client.enableTwoFactor(totp(setup.secret, start - 30) === "000000" ? "111111" : "000000"), (error) => {
    assert.ok(error instanceof InvalidTotpCodeError);
    assert.equal(error.status, 400);
    return true;
  });
  const codes = await client.enableTwoFactor(totp(setup.secret, start - 30));
  assert.equal(codes.length, 10);
  const pending = await client.login(username, PASSWORD);
  assert.equal(pending.two_factor_required, true);
  await assert.rejects(client.getUser(), UnauthorizedError);
  await client.loginTotp({ code: totp(setup.secret, start) });
  assert.equal((await client.getUser()).two_factor_enabled, true);
  const fresh = await client.regenerateRecoveryCodes(totp(setup.secret, start + 30));
  assert.equal(fresh.length, 10);
  await client.login(username, PASSWORD);
  await client.loginTotp({ recoveryCode: fresh[0] });
  assert.equal((await client.twoFactorStatus()).recovery_codes_remaining, 9);
  await assert.rejects(() => client.disableTwoFactor({}), TypeError);
  await client.disableTwoFactor({ recoveryCode: fresh[1] });
  assert.equal((await client.twoFactorStatus()).enabled, false);
});

test("applications and collaborators", async () => {
  const { client, username: owner } = await signedUp("owner");
  const { client: helperClient, username: helper } = await signedUp("helper");
  const app = await client.createApplication("fleet", { description: "Our devices" });
  assert.equal(app.owner, owner);
  assert.equal(app.role, "owner");
  assert.deepEqual(await client.getApplication(app.id), app);
  const renamed = await client.updateApplication(app.id, { name: "fleet2" });
  assert.equal(renamed.description, "Our devices");
  assert.equal((await client.updateApplication(app.id, { description: null })).description, null);
  assert.deepEqual((await client.listApplications()).applications.map((a) => a.id), [app.id]);

  const added = await client.addCollaborator(app.id, helper, "developer");
  assert.equal(added.added, true);
  assert.equal((await client.addCollaborator(app.id, helper, "observer")).added, false);
  const listed = [];
  for await (const c of client.iterCollaborators(app.id, { pageSize: 1 })) listed.push([c.username, c.role]);
  assert.deepEqual(listed, [[helper, "observer"]]);
  assert.deepEqual((await helperClient.getApplication(app.id)).permissions, ["read"]);
  await assert.rejects(helperClient.updateApplication(app.id, { name: "mine" }), ForbiddenError);
  await client.removeCollaborator(app.id, helper);
  await assert.rejects(helperClient.getApplication(app.id), NotFoundError);
  await assert.rejects(client.createApplication("FLEET2"), ConflictError);
  await client.deleteApplication(app.id);
  await assert.rejects(client.getApplication(app.id), NotFoundError);
});

test("errors carry code, status and message", async () => {
  const anonymous = new Client({ url: URL, token: "" });
  await assert.rejects(anonymous.signup("x", "x@example.com", PASSWORD), (error) => {
    assert.ok(error instanceof BadRequestError);
    assert.equal(error.code, "BadRequestError");
    assert.match(error.message, /username/);
    return true;
  });
  await assert.rejects(anonymous.login(uniqueName(), "wrong password"), (error) => {
    assert.ok(error instanceof InvalidCredentialsError);
    assert.equal(error.status, 401);
    return true;
  });
  await assert.rejects(new Client({ url: URL, token: "forged" }).getUser(), UnauthorizedError);
});

test("a lockout's 429 is thrown at once, with retryAfter", async () => {
  const { client, username } = await signedUp("locked");
  for (let i = 0; i < 10; i++) await assert.rejects(client.login(username, "not the password"), InvalidCredentialsError);
  const started = Date.now();
  await assert.rejects(client.login(username, PASSWORD), (error) => {
    assert.ok(error instanceof TooManyRequestsError);
    assert.equal(error.status, 429);
    assert.ok(error.retryAfter > 30 && error.retryAfter <= 900, String(error.retryAfter));
    return true;
  });
  assert.ok(Date.now() - started < 5000);
});

// ---- the second stage of the contract ----

test("sessions, logout and revoking the others", async () => {
  const { client, username } = await signedUp();
  const laptop = new Client({ url: URL, token: "" });
  const phone = new Client({ url: URL, token: "" });
  await laptop.login(username, PASSWORD);
  await phone.login(username, PASSWORD);
  const sessions = [];
  for await (const s of client.iterSessions({ pageSize: 1 })) sessions.push(s);
  assert.equal(sessions.length, 3);
  assert.equal(sessions.filter((s) => s.current).length, 1);
  const phones = (await phone.listSessions()).sessions.find((s) => s.current);
  await client.revokeSession(phones.id);
  await assert.rejects(phone.getUser(), UnauthorizedError);
  await laptop.logout();
  assert.equal(laptop.token, null);
  const again = new Client({ url: URL, token: "" });
  await again.login(username, PASSWORD);
  assert.equal(await client.revokeOtherSessions(), 1);
  await assert.rejects(again.getUser(), UnauthorizedError);
});

test("reauthenticate, change the password, device tokens", async () => {
  const { client, username, reply } = await signedUp("pw");
  assert.ok(reply.device_token);
  const login = await client.login(username, PASSWORD);
  assert.equal(login.device_token, reply.device_token);
  assert.ok((await client.reauthenticate(PASSWORD)).authenticated_at);
  await assert.rejects(client.reauthenticate("not the password"), InvalidPasswordError);
  assert.equal(await client.changePassword(PASSWORD, NEW_PASSWORD), 1);
  assert.equal((await client.getUser()).username, username);
});

test("email verification, address change and password reset", async () => {
  const { client, username } = await signedUp("mail");
  const address = `${username}@example.com`;
  client.maxRetryWait = 0;
  await assert.rejects(client.resendVerification(), TooManyRequestsError);
  assert.deepEqual(await client.verifyEmail(lastMailToken(address)), { email: address, email_verified: true });
  await assert.rejects(client.resendVerification(), ConflictError);
  const newAddress = `new-${address}`;
  assert.equal(await client.changeEmail(newAddress), newAddress);
  assert.equal((await client.verifyEmail(lastMailToken(newAddress))).email, newAddress);
  await client.requestPasswordReset(newAddress);
  await client.confirmPasswordReset(lastMailToken(newAddress), NEW_PASSWORD);
  await assert.rejects(client.getUser(), UnauthorizedError);
  await client.login(username, NEW_PASSWORD);
});

test("delete the account", async () => {
  const { client, username } = await signedUp();
  const app = await client.createApplication("fleet");
  await assert.rejects(client.deleteAccount(PASSWORD), ConflictError);
  await client.deleteApplication(app.id);
  await client.deleteAccount(PASSWORD);
  assert.equal(client.token, null);
  await assert.rejects(new Client({ url: URL, token: "" }).login(username, PASSWORD), InvalidCredentialsError);
});

test("scoped keys and rotation", async () => {
  const { client } = await signedUp();
  const fleet = await client.createApplication("fleet");
  const other = await client.createApplication("other");
  const scoped = await client.createApiKey("fleet-ci", { applications: [fleet.id], permissions: ["read"] });
  assert.deepEqual(scoped.scope, { applications: [fleet.id], permissions: ["read"] });
  const byKey = new Client({ url: URL, token: scoped.key });
  assert.deepEqual((await byKey.getApplication(fleet.id)).permissions, ["read"]);
  await assert.rejects(byKey.getApplication(other.id), NotFoundError);
  const rotated = await client.rotateApiKey(scoped.id, { graceSeconds: 600 });
  assert.notEqual(rotated.key, scoped.key);
  assert.equal((await bearer(scoped.key)).status, 200);
  const atOnce = await client.rotateApiKey(rotated.id);
  assert.equal((await bearer(rotated.key)).status, 401);
  assert.equal((await bearer(atOnce.key)).status, 200);
});

test("transfer, the organization's collaborators and offboarding", async () => {
  const { client } = await signedUp("owner");
  const { client: helperClient, username: helper } = await signedUp("helper");
  const apps = [];
  for (let i = 0; i < 3; i++) apps.push(await client.createApplication(`app${i}`));
  for (const app of apps) await client.addCollaborator(app.id, helper, "developer");
  const people = [];
  for await (const person of client.iterOrganizationCollaborators()) people.push(person);
  assert.deepEqual(people.map((p) => p.username), [helper]);
  assert.equal(people[0].applications.length, 3);
  const moved = await client.transferApplication(apps[0].id, helper);
  assert.equal(moved.owner, helper);
  assert.equal(moved.role, "developer");
  assert.deepEqual((await client.offboardCollaborator(helper)).sort(), [apps[1].id, apps[2].id].sort());
  const left = [];
  for await (const app of helperClient.iterApplications()) left.push(app.id);
  assert.deepEqual(left, [apps[0].id]);
});

test("events of the account and of an application", async () => {
  const { client, username } = await signedUp();
  await assert.rejects(new Client({ url: URL, token: "" }).login(username, "not the password"), InvalidCredentialsError);
  await client.createApiKey("ci");
  const types = [];
  for await (const event of client.iterEvents({ pageSize: 1 })) types.push(event.type);
  assert.deepEqual(types.slice(0, 3), ["api_key.created", "login.failed", "signup"]);
  const app = await client.createApplication("fleet");
  const { username: helper } = await signedUp("helper");
  await client.addCollaborator(app.id, helper, "developer");
  const log = (await client.listApplicationEvents(app.id)).events.map((e) => e.type);
  assert.deepEqual(log, ["collaborator.added", "application.created"]);
});

test("passkeys: register, list, rename, log in with no username, delete", async () => {
  const { client, reply } = await signedUp("nodepk");
  const authenticator = new SoftwareAuthenticator(URL);
  const started = await client.passkeyRegistrationOptions();
  const passkey = await client.registerPasskey(started.challenge_id, authenticator.create(started.options), { name: "laptop" });
  assert.equal(passkey.id, authenticator.id);
  assert.deepEqual((await client.listPasskeys()).passkeys.map((p) => p.name), ["laptop"]);
  assert.equal((await client.renamePasskey(passkey.id, "work laptop")).name, "work laptop");
  const listed = [];
  for await (const p of client.iterPasskeys({ pageSize: 1 })) listed.push(p.name);
  assert.deepEqual(listed, ["work laptop"]);

  const browser = new Client({ url: URL, token: "" });
  const login = await browser.passkeyLoginOptions();
  const done = await browser.loginWithPasskey(login.challenge_id, authenticator.get(login.options));
  assert.equal(done.two_factor_required, false);
  assert.equal(browser.token, done.token);
  assert.equal((await browser.getUser()).id, reply.user.id);
  await assert.rejects(browser.loginWithPasskey(login.challenge_id, authenticator.get(login.options)),
    (error) => error instanceof PasskeyChallengeError && error.status === 400);

  await client.deletePasskey(passkey.id);
  assert.deepEqual((await client.listPasskeys()).passkeys, []);
  await assert.rejects(client.deletePasskey(passkey.id),
    (error) => error instanceof PasskeyNotFoundError && error instanceof NotFoundError && error.status === 404
      && error.code === "PasskeyNotFoundError");
});

test("device login: start, poll, approve in another client, deny", async () => {
  const { client: browser, username } = await signedUp("nodedev");
  const terminal = new Client({ url: URL, token: "", sleep: async () => {} });
  const started = await terminal.startDeviceLogin("node test");
  assert.match(started.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(started.verification_uri_complete, `${started.verification_uri}?user_code=${started.user_code}`);
  assert.equal(await terminal.pollDeviceLogin(started, { wait: false }), null);
  const shown = await browser.deviceLoginRequest(started.user_code.toLowerCase());
  assert.equal(shown.client_name, "node test");
  assert.equal((await browser.approveDeviceLogin(started.user_code)).status, "approved");
  const done = await terminal.pollDeviceLogin(started);
  assert.equal(terminal.token, done.token);
  assert.ok(terminal.deviceToken);
  assert.equal((await terminal.getUser()).username, username);
  await assert.rejects(terminal.pollDeviceLogin(started), (error) => error instanceof InvalidGrantError
    && error.code === "invalid_grant" && error.status === 400);

  const denied = await terminal.startDeviceLogin("node test");
  await browser.denyDeviceLogin(denied.user_code);
  await assert.rejects(terminal.pollDeviceLogin(denied), (error) => error instanceof AccessDeniedError);
  await assert.rejects(browser.approveDeviceLogin(denied.user_code),
    (error) => error instanceof DeviceCodeNotFoundError && error.status === 404);
});
