// The frame's line about automatic sync.

import type { SyncStateDto } from '../bindings';

/** Where automatic sync stands, in words, always in the frame. */
export function syncLabel(s: SyncStateDto): string {
  const waiting = s.pending === 1 ? '1 change waiting' : `${s.pending} changes waiting`;
  switch (s.state) {
    case 'off':
      return 'Sync is off: sign in on the Sync screen';
    case 'syncing':
      return 'Syncing…';
    case 'waiting':
      return waiting;
    case 'offline':
      return `Offline — ${waiting}${s.retry_in_s !== null ? `; retrying in ${s.retry_in_s} s` : ''}`;
    case 'error':
      return `Sync problem: ${s.message ?? 'see the Sync screen'}`;
    default:
      return s.set_aside > 0 ? `Synced — ${refused(s.set_aside)}` : 'Synced';
  }
}

function refused(n: number): string {
  return n === 1 ? '1 change refused: see Sync' : `${n} changes refused: see Sync`;
}
