// Every operation of the server's GET /v1/openapi.json has a method (seen by a stub), and every
// method and export has its type declaration.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { test } from "node:test";

import * as sdk from "../src/index.js";
import { Client } from "../src/index.js";
import { PASSWORD, URL } from "../support/testing.js";

// "ID" and "NAME" stand for {id} and {username}.
const OPERATIONS = {
  health: (c) => c.health(),
  openapi: (c) => c.openapi(),
  signup: (c) => c.signup("alice", "a@example.com", PASSWORD),
  login: (c) => c.login("alice", PASSWORD),
  loginTotp: (c) => c.loginTotp({ code: "123456" }),
  refreshToken: (c) => c.refreshToken(),
  reauthenticate: (c) => c.reauthenticate(PASSWORD),
  listSessions: (c) => c.listSessions(),
  revokeSession: (c) => c.revokeSession("ID"),
  logout: (c) => c.logout(),
  revokeOtherSessions: (c) => c.revokeOtherSessions(),
  changePassword: (c) => c.changePassword(PASSWORD, "another long secret"),
  verifyEmail: (c) => c.verifyEmail("t"),
  resendVerification: (c) => c.resendVerification(),
  changeEmail: (c) => c.changeEmail("b@example.com"),
  requestPasswordReset: (c) => c.requestPasswordReset("a@example.com"),
  confirmPasswordReset: (c) => c.confirmPasswordReset("t", "another long secret"),
  deleteAccount: (c) => c.deleteAccount(PASSWORD),
  getUser: (c) => c.getUser(),
  createApiKey: (c) => c.createApiKey("ci"),
  listApiKeys: (c) => c.listApiKeys(),
  deleteApiKey: (c) => c.deleteApiKey("ID"),
  deleteApiKeys: (c) => c.deleteApiKeys(["ID"]),
  rotateApiKey: (c) => c.rotateApiKey("ID"),
  twoFactorStatus: (c) => c.twoFactorStatus(),
  setupTwoFactor: (c) => c.setupTwoFactor(),
  enableTwoFactor: (c) => c.enableTwoFactor("123456"),
  disableTwoFactor: (c) => c.disableTwoFactor({ code: "123456" }),
  regenerateRecoveryCodes: (c) => c.regenerateRecoveryCodes("123456"),
  createApplication: (c) => c.createApplication("fleet"),
  listApplications: (c) => c.listApplications(),
  getApplication: (c) => c.getApplication("ID"),
  updateApplication: (c) => c.updateApplication("ID", { name: "x" }),
  deleteApplication: (c) => c.deleteApplication("ID"),
  transferApplication: (c) => c.transferApplication("ID", "NAME"),
  listCollaborators: (c) => c.listCollaborators("ID"),
  addCollaborator: (c) => c.addCollaborator("ID", "NAME", "developer"),
  removeCollaborator: (c) => c.removeCollaborator("ID", "NAME"),
  listOrganizationCollaborators: (c) => c.listOrganizationCollaborators(),
  offboardCollaborator: (c) => c.offboardCollaborator("NAME"),
  listEvents: (c) => c.listEvents(),
  listApplicationEvents: (c) => c.listApplicationEvents("ID"),
  passkeyRegistrationOptions: (c) => c.passkeyRegistrationOptions(),
  registerPasskey: (c) => c.registerPasskey("c", {}),
  listPasskeys: (c) => c.listPasskeys(),
  renamePasskey: (c) => c.renamePasskey("ID", "laptop"),
  deletePasskey: (c) => c.deletePasskey("ID"),
  passkeyLoginOptions: (c) => c.passkeyLoginOptions(),
  loginWithPasskey: (c) => c.loginWithPasskey("c", {}),
  startDeviceLogin: (c) => c.startDeviceLogin("ci"),
  pollDeviceLogin: (c) => c.pollDeviceLogin({ device_code: "d", interval: 5 }, { wait: false }),
  deviceLoginRequest: (c) => c.deviceLoginRequest("BCDF-GHJK"),
  approveDeviceLogin: (c) => c.approveDeviceLogin("BCDF-GHJK"),
  denyDeviceLogin: (c) => c.denyDeviceLogin("BCDF-GHJK"),
};

test("a method for every operation of the server's document", async () => {
  const seen = [];
  const stub = createServer((request, response) => {
    seen.push([request.method, request.url]);
    request.resume();
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end("{}");
  });
  await new Promise((resolve) => stub.listen(0, "127.0.0.1", resolve));
  const stubUrl = `http://127.0.0.1:${stub.address().port}`;
  const sent = new Map();
  try {
    for (const [name, call] of Object.entries(OPERATIONS)) {
      const before = seen.length;
      await Promise.resolve(call(new Client({ url: stubUrl, token: "t" }))).catch(() => {});
      const [method, url] = seen[before];
      const path = url.split("?")[0].replaceAll("/ID", "/{id}").replaceAll("/NAME", "/{username}");
      const key = `${method} ${path}`;
      assert.ok(!sent.has(key), `${name} and ${sent.get(key)} both send ${key}`);
      sent.set(key, name);
    }
  } finally {
    stub.closeAllConnections();
    await new Promise((resolve) => stub.close(resolve));
  }
  assert.equal(sent.size, 54);
  const document = await (await fetch(`${URL}/v1/openapi.json`)).json();
  const served = Object.entries(document.paths)
    .filter(([path]) => path.startsWith("/v1/"))
    .flatMap(([path, item]) =>
      Object.keys(item).filter((m) => ["get", "put", "post", "patch", "delete"].includes(m)).map((m) => `${m.toUpperCase()} ${path}`));
  assert.deepEqual(served.filter((operation) => !sent.has(operation)), [], "operations without a method in the SDK");
});

test("every method and every export has its type declaration", () => {
  const declarations = readFileSync(new globalThis.URL("../src/index.d.ts", import.meta.url), "utf8");
  const methods = Object.getOwnPropertyNames(Client.prototype).filter((name) => name !== "constructor" && !name.startsWith("_"));
  assert.ok(methods.length >= 42);
  for (const name of methods) assert.match(declarations, new RegExp(`\\n  ${name}\\(`), `Client.${name}`);
  for (const name of Object.keys(sdk)) {
    assert.match(declarations, new RegExp(`export declare (class|const|function) ${name}\\b`), name);
  }
});
