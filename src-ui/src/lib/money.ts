// Money arrives in minor units (pence) as integers. Formatting is done by
// hand rather than with Intl so the output is the same on every engine
// (WebKitGTK builds differ in their ICU data) and testable.

const SYMBOLS: Record<string, string> = { GBP: '£', EUR: '€', USD: '$' };

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 123450 → "£1,234.50"; -5 → "-£0.05"; other currencies keep their code. */
export function formatMoney(minor: number, currency = 'GBP'): string {
  const safe = Number.isFinite(minor) ? Math.round(minor) : 0;
  const negative = safe < 0;
  const abs = Math.abs(safe);
  const major = groupThousands(String(Math.floor(abs / 100)));
  const pence = String(abs % 100).padStart(2, '0');
  const code = currency.trim().toUpperCase() || 'GBP';
  const symbol = SYMBOLS[code];
  const body = symbol === undefined ? `${major}.${pence} ${code}` : `${symbol}${major}.${pence}`;
  return negative ? `-${body}` : body;
}

/** Minor units as a plain decimal for a form field: 4250 → "42.50". */
export function minorToDecimal(minor: number): string {
  const safe = Number.isFinite(minor) ? Math.round(minor) : 0;
  const sign = safe < 0 ? '-' : '';
  const abs = Math.abs(safe);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
