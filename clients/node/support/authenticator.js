// A software passkey authenticator for the Node SDK's tests (as tests/passkey_authenticator.py is
// for the Python ones): an EC P-256 key, "none" attestation, assertions signed with the key. The
// few CBOR items an attestation needs are encoded here; the server parses them with py_webauthn.

import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";

const b64 = (bytes) => Buffer.from(bytes).toString("base64url");
const sha256 = (data) => createHash("sha256").update(data).digest();

function cborHead(major, length) {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 256) return Buffer.from([(major << 5) | 24, length]);
  return Buffer.from([(major << 5) | 25, length >> 8, length & 255]);
}

function cbor(value) {
  if (Buffer.isBuffer(value)) return Buffer.concat([cborHead(2, value.length), value]);
  if (typeof value === "string") return Buffer.concat([cborHead(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (typeof value === "number") return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  const entries = value instanceof Map ? [...value] : Object.entries(value);
  return Buffer.concat([cborHead(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k), cbor(v)])]);
}

export class SoftwareAuthenticator {
  constructor(serverUrl) {
    const url = new globalThis.URL(serverUrl);
    this.origin = url.origin;
    this.rpId = url.hostname;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.privateKey = privateKey;
    this.jwk = publicKey.export({ format: "jwk" });
    this.credentialId = randomBytes(32);
    this.counter = 0;
    this.userHandle = null;
  }

  get id() { return b64(this.credentialId); }

  clientData(type, challenge) {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }

  /** The RegistrationResponseJSON for PublicKeyCredentialCreationOptionsJSON `options`. */
  create(options) {
    this.userHandle = options.user.id;
    const coseKey = cbor(new Map([[1, 2], [3, -7], [-1, 1],
      [-2, Buffer.from(this.jwk.x, "base64url")], [-3, Buffer.from(this.jwk.y, "base64url")]]));
    const length = Buffer.from([this.credentialId.length >> 8, this.credentialId.length & 255]);
    const authData = Buffer.concat([sha256(this.rpId), Buffer.from([0x45, 0, 0, 0, 0]), Buffer.alloc(16), length,
      this.credentialId, coseKey]);
    const attestationObject = cbor(new Map([["fmt", "none"], ["attStmt", new Map()], ["authData", authData]]));
    return {
      id: this.id, rawId: this.id, type: "public-key",
      response: { clientDataJSON: b64(this.clientData("webauthn.create", options.challenge)),
        attestationObject: b64(attestationObject), transports: ["internal"] },
      clientExtensionResults: {},
    };
  }

  /** The AuthenticationResponseJSON for PublicKeyCredentialRequestOptionsJSON `options`. */
  get(options) {
    this.counter += 1;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    const authData = Buffer.concat([sha256(this.rpId), Buffer.from([0x05]), counter]);
    const clientData = this.clientData("webauthn.get", options.challenge);
    const signature = sign("sha256", Buffer.concat([authData, sha256(clientData)]), this.privateKey);
    return {
      id: this.id, rawId: this.id, type: "public-key",
      response: { clientDataJSON: b64(clientData), authenticatorData: b64(authData), signature: b64(signature),
        userHandle: this.userHandle },
      clientExtensionResults: {},
    };
  }
}
