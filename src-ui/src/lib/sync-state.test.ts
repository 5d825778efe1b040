import { describe, expect, it } from 'vitest';
import type { SyncStateDto } from '../bindings';
import { syncLabel } from './sync-state';

const base: SyncStateDto = { state: 'synced', pending: 0, set_aside: 0, message: null, last_success: null, retry_in_s: null };

describe('sync state', () => {
  it('says where sync stands in words', () => {
    expect(syncLabel(base)).toBe('Synced');
    expect(syncLabel({ ...base, state: 'waiting', pending: 1 })).toBe('1 change waiting');
    expect(syncLabel({ ...base, state: 'offline', pending: 3, retry_in_s: 8 })).toBe(
      'Offline — 3 changes waiting; retrying in 8 s',
    );
    expect(syncLabel({ ...base, state: 'error', message: 'sign in again' })).toBe('Sync problem: sign in again');
    expect(syncLabel({ ...base, state: 'off' })).toContain('sign in');
    expect(syncLabel({ ...base, set_aside: 2 })).toBe('Synced — 2 changes refused: see Sync');
    expect(syncLabel({ ...base, set_aside: 1 })).toBe('Synced — 1 change refused: see Sync');
  });
});
