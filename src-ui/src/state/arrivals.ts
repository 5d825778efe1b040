// Records that arrived from other devices. The shell says so after a sync
// brought something (`records-changed`); screens that show records load
// them again, keeping what is on screen until the new data is in. Forms
// being filled in are not reloaded: what the user is typing stays.

import { signal } from '@preact/signals';

/** Counts the syncs that brought changes since the window opened. */
export const arrivals = signal(0);
