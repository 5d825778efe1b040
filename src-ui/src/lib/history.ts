// A contact's history in words: what each entry did and each field's
// change, for the History card.

import type { FieldChangeDto, HistoryAction } from '../bindings';

export function actionWords(action: HistoryAction): string {
  switch (action) {
    case 'created':
      return 'Created';
    case 'updated':
      return 'Changed';
    case 'deleted':
      return 'Deleted';
    case 'evicted':
      return 'Removed from this device (given to someone you do not work with)';
  }
}

/** "City: York → Leeds", "Job title: set to Broker", "Phone: cleared (was 0113…)". */
export function changeWords(c: FieldChangeDto): string {
  if (c.before === null && c.after !== null) return `${c.label}: set to ${c.after}`;
  if (c.after === null) return `${c.label}: cleared${c.before === null ? '' : ` (was ${c.before})`}`;
  return `${c.label}: ${c.before} → ${c.after}`;
}
