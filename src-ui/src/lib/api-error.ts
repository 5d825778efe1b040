// Every failure the UI sees has one shape: the backend's `ApiError`
// (`{code, message, field}`). The Rust commands reject with exactly that, but
// the IPC layer, the dialog plugin or plain JavaScript can throw anything
// (a string, an Error, undefined), so everything goes through `toApiError`.
// The UI branches on `code` and `field`, never on `message`.

import type { ApiError } from '../bindings';

export type { ApiError };

/** The codes the backend sends; anything else is kept but treated as internal. */
export const ERROR_CODES = [
  'locked',
  'no_profile',
  'profile_exists',
  'passphrase_required',
  'wrong_passphrase',
  'keyring_unavailable',
  'invalid',
  'not_found',
  'cancelled',
  'busy',
  'forbidden',
  'plugin',
  'sync',
  'offline',
  'signed_out',
  'io',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True when `e` already has the exact ApiError shape. */
export function isApiError(e: unknown): e is ApiError {
  return (
    isRecord(e) &&
    typeof e.code === 'string' &&
    typeof e.message === 'string' &&
    (e.field === null || typeof e.field === 'string')
  );
}

/** Normalise anything thrown into an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (isApiError(e)) return { code: e.code, message: e.message, field: e.field };
  if (isRecord(e)) {
    const code = typeof e.code === 'string' && e.code !== '' ? e.code : 'internal';
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
