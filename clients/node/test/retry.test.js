// The Node SDK's own behaviour against a tiny HTTP stub on 127.0.0.1: retries, timeouts, errors.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, beforeEach, test } from "node:test";

import {
  ApiError, Client, ForbiddenError, InternalServerError, NetworkError, ServiceUnavailableError, TooManyRequestsError,
  errorFor, parseRetryAfter,
} from "../src/index.js";

const USER = { id: "u1", username: "alice", email: "a@example.com", created_at: "2030-01-01T00:00:00Z", two_factor_enabled: false };
const TOO_MANY = { Code: "TooManyRequestsError", Message: "Too many failed logins: try again later." };
const BUSY = { Code: "ServiceUnavailableError", Message: "The database is busy: try again." };

let server;
let url;
let replies = [];
let seen = [];

before(async () => {
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => { body += chunk; });
    request.on("end", () => {
      seen.push({ method: request.method, path: request.url, headers: request.headers, body, at: Date.now() });
      const reply = replies.length > 1 ? replies.shift() : replies[0];
      setTimeout(() => {
        response.writeHead(reply.status, { "Content-Type": "application/json", ...(reply.headers ?? {}) });
        response.end(reply.body === undefined ? "" : JSON.stringify(reply.body));
      }, reply.delay ?? 0);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));

beforeEach(() => {
  replies = [];
  seen = [];
});

test("a 429 is retried after its Retry-After", async () => {
  replies = [{ status: 429, body: TOO_MANY, headers: { "Retry-After": "1" } }, { status: 200, body: USER }];
  const user = await new Client({ url, token: "t" }).getUser();
  assert.equal(user.username, "alice");
  assert.equal(seen.length, 2);
  assert.ok(seen[1].at - seen[0].at >= 950, `waited ${seen[1].at - seen[0].at} ms`);
});

test("a 503 is retried, and a POST is sent again whole", async () => {
  replies = [
    { status: 503, body: BUSY, headers: { "Retry-After": "0" } },
    { status: 201, body: { id: "a1", name: "fleet" } },
  ];
  assert.equal((await new Client({ url, token: "t" }).createApplication("fleet")).id, "a1");
  assert.deepEqual(seen.map((s) => JSON.parse(s.body)), [{ name: "fleet" }, { name: "fleet" }]);
});

test("retries are bounded in number", async () => {
  replies = [{ status: 503, body: BUSY, headers: { "Retry-After": "0" } }];
  await assert.rejects(new Client({ url, token: "t", maxAttempts: 3 }).getUser(), (error) => {
    assert.ok(error instanceof ServiceUnavailableError && error instanceof ApiError);
    assert.equal(error.status, 503);
    assert.equal(error.code, "ServiceUnavailableError");
    assert.equal(error.retryAfter, 0);
    return true;
  });
  assert.equal(seen.length, 3);
});

test("retries are bounded in total wait", async () => {
  const waits = [];
  replies = [{ status: 429, body: TOO_MANY, headers: { "Retry-After": "2" } }];
  const client = new Client({ url, token: "t", maxRetryWait: 5000, sleep: async (ms) => { waits.push(ms); } });
  await assert.rejects(client.getUser(), TooManyRequestsError);
  assert.deepEqual(waits, [2000, 2000]);
  assert.equal(seen.length, 3);
});

test("a wait longer than the budget is not waited at all", async () => {
  replies = [{ status: 429, body: TOO_MANY, headers: { "Retry-After": "900" } }];
  const started = Date.now();
  await assert.rejects(new Client({ url, token: "" }).login("alice", "pw"), (error) => error.retryAfter === 900);
  assert.ok(Date.now() - started < 2000);
  assert.equal(seen.length, 1);
});

test("other errors are not retried", async () => {
  replies = [{ status: 500, body: { Code: "InternalServerError", Message: "An internal server error occurred." } }];
  await assert.rejects(new Client({ url, token: "t" }).getUser(), InternalServerError);
  assert.equal(seen.length, 1);
});

test("a server that does not answer in time is a NetworkError", async () => {
  replies = [{ status: 200, body: USER, delay: 2000 }];
  await assert.rejects(new Client({ url, token: "t", timeout: 300 }).getUser(), (error) => {
    assert.ok(error instanceof NetworkError);
    assert.equal(error.timedOut, true);
    return true;
  });
});

test("a server that is not there is a NetworkError", async () => {
  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const nowhere = `http://127.0.0.1:${closed.address().port}`;
  await new Promise((resolve) => closed.close(resolve)); // nothing listens there any more
  await assert.rejects(new Client({ url: nowhere, token: "t" }).getUser(), (error) => {
    assert.ok(error instanceof NetworkError);
    assert.equal(error.timedOut, false);
    assert.ok(error.message.includes(nowhere), error.message);
    return true;
  });
});

test("what the client sends", async () => {
  replies = [{ status: 204 }];
  const client = new Client({ url: `${url}/api/`, token: "the-token", deviceToken: "d1" });
  await client.removeCollaborator("app/1", "bob?x");
  await client.logout();
  assert.equal(seen[0].method, "DELETE");
  assert.equal(seen[0].path, "/api/v1/applications/app%2F1/collaborators/bob%3Fx");
  assert.equal(seen[0].headers.authorization, "Bearer the-token");
  assert.match(seen[0].headers["user-agent"], /^latchkey-node\//);
  assert.equal(seen[1].path, "/api/v1/user/logout");
  assert.equal(seen[1].body, "");
  assert.equal(seen[1].headers["content-type"], undefined);
  assert.equal(client.token, null);
});

test("login sends the device token and keeps the new one", async () => {
  replies = [
    { status: 200, body: { token: "p1", expires_at: "2030-01-01T00:00:00Z", two_factor_required: true } },
    { status: 200, body: { token: "s1", expires_at: "2030-01-01T00:00:00Z", two_factor_required: false, device_token: "d2" } },
  ];
  const client = new Client({ url, token: "", deviceToken: "d1" });
  await client.login("alice", "pw");
  assert.equal(client.token, "p1");
  await client.loginTotp({ code: "123456" });
  assert.equal(client.token, "s1");
  assert.equal(client.deviceToken, "d2");
  assert.deepEqual(JSON.parse(seen[0].body), { username: "alice", password: "pw", device_token: "d1" });
  assert.equal(seen[0].headers.authorization, undefined);
  assert.equal(seen[1].headers.authorization, "Bearer p1");
});

test("the platform's answer to an unknown path never repeats the credential", async () => {
  replies = [{ status: 403, body: { message: "Authorization=Bearer secret-token" } }];
  await assert.rejects(new Client({ url, token: "secret-token" }).listEvents(), (error) => {
    assert.ok(error instanceof ForbiddenError);
    assert.equal(error.noRoute, true);
    assert.equal(error.message, "the server has no route for GET /v1/user/events");
    assert.ok(!JSON.stringify(error).includes("secret-token"));
    return true;
  });
});

test("every Code of the contract has its class", () => {
  const codes = {
    BadRequestError: 400, InvalidTotpCodeError: 400, InvalidPasswordError: 400, UnauthorizedError: 401,
    InvalidCredentialsError: 401, ForbiddenError: 403, ReauthenticationRequiredError: 403, NotFoundError: 404,
    ConflictError: 409, UnsupportedMediaType: 415, TooManyRequestsError: 429, ServiceUnavailableError: 503,
    InternalServerError: 500,
  };
  for (const [code, status] of Object.entries(codes)) {
    const error = errorFor(status, { Code: code, Message: "what happened" }, 7);
    assert.equal(error.constructor.name, code);
    assert.equal(error.name, code);
    assert.equal(error.code, code);
    assert.equal(error.status, status);
    assert.equal(error.retryAfter, 7);
    assert.equal(error.message, "what happened");
  }
  assert.equal(parseRetryAfter("120"), 120);
  assert.equal(parseRetryAfter(null), null);
  assert.ok(parseRetryAfter(new Date(Date.now() + 5000).toUTCString()) <= 5);
});
