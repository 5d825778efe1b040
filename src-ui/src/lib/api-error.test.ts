import { describe, expect, it } from 'vitest';
import { fieldError, isApiError, toApiError, type ApiError } from './api-error';

describe('toApiError', () => {
  it('keeps a proper ApiError', () => {
    const e = { code: 'invalid', message: 'bad email', field: 'email' };
    expect(toApiError(e)).toEqual(e);
    expect(isApiError(e)).toBe(true);
  });

  it('fills in a missing field and code', () => {
    expect(toApiError({ code: 'busy', message: 'wait' })).toEqual({ code: 'busy', message: 'wait', field: null });
    expect(toApiError({ message: 'odd' })).toEqual({ code: 'internal', message: 'odd', field: null });
  });

  it('wraps strings, Errors and junk', () => {
    expect(toApiError('command foo not found')).toEqual({ code: 'internal', message: 'command foo not found', field: null });
    expect(toApiError(new Error('boom'))).toEqual({ code: 'internal', message: 'boom', field: null });
    expect(toApiError(undefined)).toEqual({ code: 'internal', message: 'something went wrong', field: null });
    expect(toApiError(42).code).toBe('internal');
    expect(toApiError(['x']).code).toBe('internal');
  });

  it('reads an ApiError serialised into a string', () => {
    expect(toApiError('{"code":"locked","message":"locked","field":null}')).toEqual({
      code: 'locked',
      message: 'locked',
      field: null,
    });
  });

  it('treats a code the backend does not send as internal, keeping the message', () => {
    expect(toApiError({ code: 'exploded', message: 'm', field: null })).toEqual({ code: 'internal', message: 'm', field: null });
    expect(isApiError({ code: 'exploded', message: 'm', field: null })).toBe(false);
  });

  it('does not trust a non-string field', () => {
    expect(toApiError({ code: 'invalid', message: 'm', field: 3 })).toEqual({ code: 'invalid', message: 'm', field: null });
  });
});

describe('fieldError', () => {
  const err: ApiError = { code: 'invalid', message: 'not an email', field: 'email' };
  it('matches a field by name', () => {
    expect(fieldError(err, 'email', 'emails')).toBe('not an email');
    expect(fieldError(err, 'phone')).toBeNull();
  });
  it('ignores errors that are not validation errors', () => {
    expect(fieldError({ ...err, code: 'io' }, 'email')).toBeNull();
    expect(fieldError(null, 'email')).toBeNull();
  });
});
