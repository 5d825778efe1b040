// What the app knows about the profile and the choices forms offer.

import { signal } from '@preact/signals';
import * as api from '../api';
import type { Meta, ProfileState } from '../bindings';
import { toApiError, type ApiError } from '../lib/api-error';

export const profile = signal<ProfileState | null>(null);
export const profileError = signal<ApiError | null>(null);
export const meta = signal<Meta | null>(null);

export const EMPTY_META: Meta = {
  stages: [],
  kinds: [],
  frequencies: [],
  policy_statuses: [],
  payment_methods: [],
  activity_kinds: [],
  import_fields: [],
  contact_details: [],
  owners: [],
  tags: [],
};

export async function refreshProfile(): Promise<void> {
  try {
    profile.value = await api.profileState();
    profileError.value = null;
    if (profile.value.unlocked) void refreshMeta();
  } catch (e) {
    profileError.value = toApiError(e);
  }
}

/** Reload the choices (owners and tags change as contacts are saved or imported). */
export async function refreshMeta(): Promise<void> {
  try {
    meta.value = await api.meta();
  } catch {
    // Forms fall back to free text until the next try.
  }
}

export function setProfile(p: ProfileState): void {
  profile.value = p;
  if (p.unlocked) void refreshMeta();
  else meta.value = null;
}
