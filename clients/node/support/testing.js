// Helpers of the Node SDK's tests: unique names, TOTP codes (as an authenticator app computes them),
// and the dev server's mail (MAIL_DIR, given to the tests as LATCHKEY_TEST_MAIL_DIR). Kept out of
// test/, where `node --test` would run it as a test file of its own.

import { createHmac, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

export const PASSWORD = "correct horse battery";
export const URL = process.env.LATCHKEY_URL || "http://127.0.0.1:8000";

export function uniqueName(prefix = "node") {
  return `${prefix}_${randomBytes(5).toString("hex")}`;
}

function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const char of text.replace(/=+$/, "").toUpperCase()) {
    const value = alphabet.indexOf(char);
    if (value < 0) throw new Error(`not base32: ${char}`);
    bits += value.toString(2).padStart(5, "0");
  }
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** The RFC 6238 code (SHA-1, 6 digits, 30 s) of `secret` at `seconds` since the epoch. */
export function totp(secret, seconds = Date.now() / 1000) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(seconds / 30)));
  const digest = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const number = (digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(number).padStart(6, "0");
}

/** The token= of the last message sent to `address` (from the dev server's MAIL_DIR). */
export function lastMailToken(address) {
  const directory = process.env.LATCHKEY_TEST_MAIL_DIR;
  if (!directory) throw new Error("LATCHKEY_TEST_MAIL_DIR is not set");
  const messages = readdirSync(directory)
    .filter((name) => name.endsWith(".eml"))
    .map((name) => join(directory, name))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)
    .map((path) => readFileSync(path, "utf8"))
    .filter((text) => text.toLowerCase().includes(address.toLowerCase()));
  for (const text of messages.reverse()) {
    const unfolded = text.replace(/=\r?\n/g, "").replace(/=3D/g, "=");
    const match = unfolded.match(/token=([A-Za-z0-9_-]+)/);
    if (match) return match[1];
  }
  throw new Error(`no message with a token was sent to ${address}`);
}
