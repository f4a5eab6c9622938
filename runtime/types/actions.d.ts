// Types of the `event` and `api` objects an Actionflow action receives, for editors.
// Reference them from an action with:  /// <reference path="actions.d.ts" />

declare namespace Actionflow {
  /** Secrets configured on the action, by name. Values never appear in logs (they are redacted). */
  type Secrets = Readonly<Record<string, string>>;

  interface User {
    readonly user_id?: string;
    readonly email?: string;
    readonly email_verified?: boolean;
    readonly username?: string;
    readonly name?: string;
    readonly phone_number?: string;
    readonly app_metadata?: Readonly<Record<string, unknown>>;
    readonly user_metadata?: Readonly<Record<string, unknown>>;
    readonly [field: string]: unknown;
  }

  /** Every event is deeply frozen. Fields beyond these are whatever the host platform sends. */
  interface Event {
    readonly user?: User;
    readonly client?: Readonly<{ client_id?: string; name?: string; [field: string]: unknown }>;
    readonly request?: Readonly<{ ip?: string; hostname?: string; [field: string]: unknown }>;
    readonly secrets: Secrets;
    /** Set on async triggers: the delivery attempt, so an action can be idempotent. */
    readonly execution?: Readonly<{ id: string; attempt: number }>;
    readonly [field: string]: unknown;
  }

  interface CacheRecord { value: string; expires_at: number }
  interface Cache {
    get(key: string): CacheRecord | undefined;
    /** `ttl` in ms (default 15 minutes, at most 24 hours) or `expires_at` in ms since the epoch. */
    set(key: string, value: string, options?: { ttl?: number; expires_at?: number }):
      { type: "success"; record: CacheRecord } | { type: "error"; code: "KEY_TOO_LONG" | "VALUE_TOO_LARGE" | "CACHE_FULL" };
    delete(key: string): { type: "success"; record?: CacheRecord };
  }

  type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

  interface PostLoginApi {
    access: { deny(reason: string, userMessage?: string): PostLoginApi };
    accessToken: { setCustomClaim(name: string, value: Json | undefined): PostLoginApi };
    idToken: { setCustomClaim(name: string, value: Json | undefined): PostLoginApi };
    user: {
      setAppMetadata(name: string, value: Json | undefined): PostLoginApi;
      setUserMetadata(name: string, value: Json | undefined): PostLoginApi;
    };
    multifactor: { enable(provider: string, options?: Record<string, Json>): PostLoginApi };
    redirect: { sendUserTo(url: string, options?: { query?: Record<string, string> }): PostLoginApi };
    cache: Cache;
  }

  interface PreUserRegistrationApi {
    access: { deny(reason: string, userMessage?: string): PreUserRegistrationApi };
    user: {
      setAppMetadata(name: string, value: Json | undefined): PreUserRegistrationApi;
      setUserMetadata(name: string, value: Json | undefined): PreUserRegistrationApi;
    };
    validation: { error(code: string, message: string): PreUserRegistrationApi };
    cache: Cache;
  }

  interface CredentialsExchangeApi {
    access: { deny(code: string, reason?: string): CredentialsExchangeApi };
    accessToken: { setCustomClaim(name: string, value: Json | undefined): CredentialsExchangeApi };
    cache: Cache;
  }

  /** Async triggers (post-user-registration, post-change-password) and send-phone-message. */
  interface CacheOnlyApi { cache: Cache }

  /**
   * A handler (with its module's top-level code on a cold start) runs within a wall-clock limit
   * (20 s by default) and a CPU time limit (5 s by default: what it computes, not what it waits for).
   * Past the first it ends `timed_out`, past the second `cpu_limit`. The JSON of all its `api` calls
   * together is bounded (1 MiB by default): the call that would pass it throws a `RangeError` naming it.
   */
  type Handler<A> = (event: Event, api: A) => void | Promise<void>;
}

declare function onExecutePostLogin(event: Actionflow.Event, api: Actionflow.PostLoginApi): void | Promise<void>;
declare function onExecutePreUserRegistration(event: Actionflow.Event, api: Actionflow.PreUserRegistrationApi): void | Promise<void>;
declare function onExecutePostUserRegistration(event: Actionflow.Event, api: Actionflow.CacheOnlyApi): void | Promise<void>;
declare function onExecutePostChangePassword(event: Actionflow.Event, api: Actionflow.CacheOnlyApi): void | Promise<void>;
declare function onExecuteCredentialsExchange(event: Actionflow.Event, api: Actionflow.CredentialsExchangeApi): void | Promise<void>;
declare function onExecuteSendPhoneMessage(event: Actionflow.Event, api: Actionflow.CacheOnlyApi): void | Promise<void>;
