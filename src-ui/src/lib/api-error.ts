// Every failure the UI sees has one shape: the backend's `ApiError`
// (`{code, message, field}`). The Rust commands reject with exactly that, but
// the IPC layer, the dialog plugin or plain JavaScript can throw anything
// (a string, an Error, undefined), so everything goes through `toApiError`.
// The UI branches on `code` and `field`, never on `message`.

import type { ApiError, ErrorCode } from '../bindings';

export type { ApiError, ErrorCode };

/** Every code the backend sends. Keyed by the generated `ErrorCode` union, so
 * a code added to or removed from the backend's enum is a type error here. */
const KNOWN_CODES: Record<ErrorCode, true> = {
  locked: true,
  no_profile: true,
  profile_exists: true,
  passphrase_required: true,
  wrong_passphrase: true,
  keyring_unavailable: true,
  invalid: true,
  not_found: true,
  cancelled: true,
  busy: true,
  forbidden: true,
  plugin: true,
  sync: true,
  offline: true,
  signed_out: true,
  io: true,
  internal: true,
};

/** The code if the backend sends it; anything else is treated as internal. */
export function errorCode(v: unknown): ErrorCode {
  return typeof v === 'string' && Object.prototype.hasOwnProperty.call(KNOWN_CODES, v) ? (v as ErrorCode) : 'internal';
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when `e` already has the exact ApiError shape. */
export function isApiError(e: unknown): e is ApiError {
  return (
    isRecord(e) &&
    typeof e.code === 'string' &&
    Object.prototype.hasOwnProperty.call(KNOWN_CODES, e.code) &&
    typeof e.message === 'string' &&
    (e.field === null || typeof e.field === 'string')
  );
}

/** Normalise anything thrown into an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (isApiError(e)) return { code: e.code, message: e.message, field: e.field };
  if (isRecord(e)) {
    const code = errorCode(e.code);
    const message =
      typeof e.message === 'string' && e.message !== ''
        ? e.message
        : typeof e.error === 'string'
          ? e.error
          : 'something went wrong';
    const field = typeof e.field === 'string' ? e.field : null;
    return { code, message, field };
  }
  if (e instanceof Error) return { code: 'internal', message: e.message || e.name, field: null };
  if (typeof e === 'string') {
    // Tauri rejects with a bare string when a command is missing or its
    // arguments do not deserialise; sometimes the string is our JSON.
    const trimmed = e.trim();
    if (trimmed.startsWith('{')) {
      try {
        const parsed: unknown = JSON.parse(trimmed);
        if (isRecord(parsed) && typeof parsed.code === 'string') return toApiError(parsed);
      } catch {
        // not JSON after all: fall through
      }
    }
    return { code: 'internal', message: trimmed || 'something went wrong', field: null };
  }
  return { code: 'internal', message: 'something went wrong', field: null };
}

/** The error for one form field, if `err` is a validation error about it. */
export function fieldError(err: ApiError | null, ...fields: string[]): string | null {
  if (!err || err.code !== 'invalid' || err.field === null) return null;
  return fields.includes(err.field) ? err.message : null;
}
