// The toast area's queue. Notices from the backend (taken after every
// mutating command) and the UI's own confirmations land here. The same
// message from the same source within a couple of seconds is shown once:
// an action's own notifications may also come back through `notices_take`.

import { signal } from '@preact/signals';
import type { NoticeDto } from '../bindings';

export type ToastLevel = 'info' | 'success' | 'warning' | 'error';

export interface Toast {
  id: number;
  level: ToastLevel;
  message: string;
  source: string | null;
  at: number;
}

export const toasts = signal<readonly Toast[]>([]);

const MAX_SHOWN = 5;
const DEDUPE_MS = 2500;
let nextId = 1;

function asLevel(l: string): ToastLevel {
  return l === 'success' || l === 'warning' || l === 'error' ? l : 'info';
}

export function pushToast(level: string, message: string, source: string | null = null): void {
  const now = Date.now();
  const lvl = asLevel(level);
  const text = message.trim() || '(empty message)';
  const dup = toasts.value.some((t) => t.message === text && t.source === source && t.level === lvl && now - t.at < DEDUPE_MS);
  if (dup) return;
  const toast: Toast = { id: nextId++, level: lvl, message: text, source, at: now };
  toasts.value = [...toasts.value, toast].slice(-MAX_SHOWN);
  const ttl = lvl === 'error' ? 10_000 : lvl === 'warning' ? 8000 : 4000;
  setTimeout(() => dismissToast(toast.id), ttl);
}

export function pushNotices(notices: readonly NoticeDto[]): void {
  for (const n of notices) pushToast(n.level, n.message, n.source);
}

export function dismissToast(id: number): void {
  toasts.value = toasts.value.filter((t) => t.id !== id);
}
