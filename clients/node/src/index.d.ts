// Type declarations of Latchkey's Node.js SDK (src/index.js). Results are the API's JSON:
// timestamps are RFC 3339 UTC strings ("2026-11-27T18:00:00Z"), ids opaque strings.

export declare const VERSION: string;
export declare const DEFAULT_URL: string;
export declare const PERMISSIONS: readonly Permission[];
export declare const COLLABORATOR_ROLES: readonly CollaboratorRole[];

export type Timestamp = string;
export type Permission = "read" | "write" | "operate" | "manage_collaborators" | "delete";
export type Role = "owner" | "developer" | "operator" | "observer";
export type CollaboratorRole = Exclude<Role, "owner">;

export interface User {
  id: string;
  username: string;
  email: string;
  email_verified?: boolean;
  created_at: Timestamp;
  two_factor_enabled: boolean;
}

export interface Token {
  token: string;
  expires_at: Timestamp;
}

export interface LoginReply extends Token {
  two_factor_required: boolean;
  /** Present on every completed login; send it with the next login of this account. */
  device_token?: string;
}

/** A device login begun (RFC 8628 section 3.2). */
export interface DeviceLogin {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

/** A pending device login as its approval shows it (with `status` after a decision). */
export interface DeviceRequest {
  user_code: string;
  client_name: string;
  address: string | null;
  user_agent: string | null;
  requested_at: Timestamp;
  expires_at: Timestamp;
  status?: "approved" | "denied";
}

export interface SignupReply extends Token {
  user: User;
  device_token?: string;
}

export interface Scope {
  applications: string[] | null;
  permissions: Permission[] | null;
}

export interface ApiKey {
  id: string;
  name: string;
  description: string | null;
  prefix: string;
  created_at: Timestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  scope?: Scope | null;
}

/** A key just created or rotated: the only time `key` is shown. */
export interface NewApiKey extends ApiKey {
  key: string;
}

export interface BatchDeleteReply {
  deleted: string[];
  not_found: string[];
}

export interface Session {
  id: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  authenticated_at: Timestamp;
  last_used_at: Timestamp | null;
  address: string;
  user_agent: string | null;
  current: boolean;
}

export interface Passkey {
  /** The credential id, base64url. */
  id: string;
  name: string;
  created_at: Timestamp;
  last_used_at: Timestamp | null;
  transports: string[];
  backed_up: boolean;
}

/** A challenge and the options for navigator.credentials.create or .get, binary values base64url. */
export interface PasskeyOptions {
  challenge_id: string;
  options: Record<string, unknown>;
}

export interface TwoFactorStatus {
  enabled: boolean;
  pending: boolean;
  recovery_codes_remaining: number;
}

export interface TwoFactorSetup {
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
}

export interface Application {
  id: string;
  name: string;
  description: string | null;
  owner: string;
  created_at: Timestamp;
  role: Role;
  permissions: Permission[];
}

export interface Collaborator {
  username: string;
  role: CollaboratorRole;
  added_at: Timestamp;
}

export interface OrganizationCollaborator {
  username: string;
  applications: { id: string; name: string; role: CollaboratorRole; added_at: Timestamp }[];
}

export interface Event {
  id: string;
  type: string;
  created_at: Timestamp;
  actor: string | null;
  via: "session" | "api_key" | "email" | null;
  api_key_prefix: string | null;
  address: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
}

export interface EmailVerification {
  email: string;
  email_verified: boolean;
}

export interface PageOptions {
  /** 1–100 (the server's default is 100). */
  limit?: number;
  cursor?: string | null;
}

export interface IterateOptions {
  pageSize?: number;
}

export type Page<K extends string, T> = { [key in K]: T[] } & { next_cursor: string | null };

export interface CodeOrRecoveryCode {
  code?: string;
  recoveryCode?: string;
}

export interface ClientOptions {
  /** Default: $LATCHKEY_URL, else http://127.0.0.1:8000. */
  url?: string;
  /** A session token or an API key. Default: $LATCHKEY_TOKEN. */
  token?: string | null;
  deviceToken?: string | null;
  /** Per request, in milliseconds (default 10000). */
  timeout?: number;
  /** Attempts of one request refused with 429/503, the first included (default 4). */
  maxAttempts?: number;
  /** The most the retries of one request may wait in all, in milliseconds (default 60000). */
  maxRetryWait?: number;
  userAgent?: string;
  fetch?: typeof globalThis.fetch;
  sleep?: (ms: number) => Promise<void>;
}

export declare class Client {
  constructor(options?: ClientOptions);
  url: string;
  token: string | null;
  deviceToken: string | null;
  timeout: number;
  maxAttempts: number;
  maxRetryWait: number;

  health(): Promise<{ status: string }>;
  openapi(): Promise<Record<string, unknown>>;

  signup(username: string, email: string, password: string): Promise<SignupReply>;
  login(username: string, password: string, options?: { deviceToken?: string }): Promise<LoginReply>;
  loginTotp(code: CodeOrRecoveryCode): Promise<LoginReply>;
  refreshToken(): Promise<Token>;
  reauthenticate(password: string, code?: CodeOrRecoveryCode): Promise<{ authenticated_at: Timestamp }>;
  logout(): Promise<void>;
  passkeyRegistrationOptions(): Promise<PasskeyOptions>;
  registerPasskey(challengeId: string, credential: Record<string, unknown>, options?: { name?: string }): Promise<Passkey>;
  listPasskeys(page?: PageOptions): Promise<Page<"passkeys", Passkey>>;
  iterPasskeys(options?: IterateOptions): AsyncGenerator<Passkey, void, undefined>;
  renamePasskey(id: string, name: string): Promise<Passkey>;
  deletePasskey(id: string): Promise<void>;
  passkeyLoginOptions(options?: { pendingToken?: string }): Promise<PasskeyOptions>;
  loginWithPasskey(
    challengeId: string,
    credential: Record<string, unknown>,
    options?: { pendingToken?: string },
  ): Promise<LoginReply>;
  startDeviceLogin(clientName: string): Promise<DeviceLogin>;
  pollDeviceLogin(started: DeviceLogin, options?: { wait?: true }): Promise<LoginReply>;
  pollDeviceLogin(started: DeviceLogin, options: { wait: false }): Promise<LoginReply | null>;
  deviceLoginRequest(userCode: string): Promise<DeviceRequest>;
  approveDeviceLogin(userCode: string): Promise<DeviceRequest>;
  denyDeviceLogin(userCode: string): Promise<DeviceRequest>;
  listSessions(page?: PageOptions): Promise<Page<"sessions", Session>>;
  iterSessions(options?: IterateOptions): AsyncGenerator<Session, void, undefined>;
  revokeSession(id: string): Promise<void>;
  revokeOtherSessions(): Promise<number>;

  getUser(): Promise<User>;
  changePassword(currentPassword: string, newPassword: string): Promise<number>;
  requestPasswordReset(email: string): Promise<void>;
  confirmPasswordReset(token: string, newPassword: string): Promise<void>;
  verifyEmail(token: string): Promise<EmailVerification>;
  resendVerification(): Promise<void>;
  changeEmail(email: string): Promise<string>;
  deleteAccount(password: string, code?: CodeOrRecoveryCode): Promise<void>;

  createApiKey(
    name: string,
    options?: {
      description?: string;
      expiresAt?: Timestamp | Date | null;
      applications?: string[] | null;
      permissions?: Permission[] | null;
    },
  ): Promise<NewApiKey>;
  listApiKeys(page?: PageOptions): Promise<Page<"api_keys", ApiKey>>;
  iterApiKeys(options?: IterateOptions): AsyncGenerator<ApiKey, void, undefined>;
  deleteApiKey(id: string): Promise<void>;
  deleteApiKeys(ids: Iterable<string>): Promise<BatchDeleteReply>;
  rotateApiKey(id: string, options?: { graceSeconds?: number }): Promise<NewApiKey>;

  twoFactorStatus(): Promise<TwoFactorStatus>;
  setupTwoFactor(): Promise<TwoFactorSetup>;
  enableTwoFactor(code: string): Promise<string[]>;
  disableTwoFactor(code: CodeOrRecoveryCode): Promise<void>;
  regenerateRecoveryCodes(code: string): Promise<string[]>;

  createApplication(name: string, options?: { description?: string }): Promise<Application>;
  listApplications(page?: PageOptions): Promise<Page<"applications", Application>>;
  iterApplications(options?: IterateOptions): AsyncGenerator<Application, void, undefined>;
  getApplication(id: string): Promise<Application>;
  updateApplication(id: string, changes: { name?: string; description?: string | null }): Promise<Application>;
  deleteApplication(id: string): Promise<void>;
  transferApplication(id: string, username: string): Promise<Application>;
  listCollaborators(appId: string, page?: PageOptions): Promise<Page<"collaborators", Collaborator>>;
  iterCollaborators(appId: string, options?: IterateOptions): AsyncGenerator<Collaborator, void, undefined>;
  addCollaborator(appId: string, username: string, role: CollaboratorRole): Promise<Collaborator & { added: boolean }>;
  removeCollaborator(appId: string, username: string): Promise<void>;
  listOrganizationCollaborators(page?: PageOptions): Promise<Page<"collaborators", OrganizationCollaborator>>;
  iterOrganizationCollaborators(options?: IterateOptions): AsyncGenerator<OrganizationCollaborator, void, undefined>;
  offboardCollaborator(username: string): Promise<string[]>;

  listEvents(page?: PageOptions): Promise<Page<"events", Event>>;
  iterEvents(options?: IterateOptions): AsyncGenerator<Event, void, undefined>;
  listApplicationEvents(appId: string, page?: PageOptions): Promise<Page<"events", Event>>;
  iterApplicationEvents(appId: string, options?: IterateOptions): AsyncGenerator<Event, void, undefined>;
}

export declare class LatchkeyError extends Error {}

export declare class NetworkError extends LatchkeyError {
  timedOut: boolean;
}

export interface ApiErrorOptions {
  status: number;
  code?: string;
  retryAfter?: number | null;
  body?: unknown;
  noRoute?: boolean;
}

/** The API answered with an error. `retryAfter` is in seconds (from Retry-After), or null. */
export declare class ApiError extends LatchkeyError {
  static code: string;
  constructor(message: string, options: ApiErrorOptions);
  status: number;
  code: string;
  retryAfter: number | null;
  body: unknown;
  /** The platform's answer to a path that matches no route (an older server, a wrong URL). */
  noRoute: boolean;
}

export declare class BadRequestError extends ApiError {}
export declare class InvalidTotpCodeError extends ApiError {}
export declare class InvalidPasswordError extends ApiError {}
export declare class UnauthorizedError extends ApiError {}
export declare class InvalidCredentialsError extends ApiError {}
export declare class ForbiddenError extends ApiError {}
export declare class ReauthenticationRequiredError extends ApiError {}
export declare class NotFoundError extends ApiError {}
export declare class ConflictError extends ApiError {}
export declare class UnsupportedMediaType extends ApiError {}
export declare class TooManyRequestsError extends ApiError {}
export declare class ServiceUnavailableError extends ApiError {}
export declare class InternalServerError extends ApiError {}
export declare class PasskeyChallengeError extends BadRequestError {}
export declare class InvalidPasskeyError extends ApiError {}
export declare class PasskeyCloneError extends ApiError {}
export declare class PasskeyNotFoundError extends NotFoundError {}
export declare class DeviceLoginError extends BadRequestError {}
export declare class AuthorizationPendingError extends DeviceLoginError {}
export declare class SlowDownError extends DeviceLoginError {}
export declare class AccessDeniedError extends DeviceLoginError {}
export declare class ExpiredTokenError extends DeviceLoginError {}
export declare class InvalidGrantError extends DeviceLoginError {}
export declare class DeviceCodeNotFoundError extends NotFoundError {}

export declare function errorFor(status: number, body: unknown, retryAfter: number | null, request?: string): ApiError;
export declare function parseRetryAfter(value: string | null | undefined): number | null;
