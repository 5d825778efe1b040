import { describe, expect, it } from 'vitest';
import { formatMoney, minorToDecimal } from './money';

describe('formatMoney', () => {
  it('formats pence as pounds with grouping', () => {
    expect(formatMoney(123450)).toBe('£1,234.50');
    expect(formatMoney(0)).toBe('£0.00');
    expect(formatMoney(5)).toBe('£0.05');
    expect(formatMoney(100)).toBe('£1.00');
    expect(formatMoney(123456789)).toBe('£1,234,567.89');
  });

  it('puts the sign before the symbol', () => {
    expect(formatMoney(-250)).toBe('-£2.50');
  });

  it('uses known symbols and falls back to the code', () => {
    expect(formatMoney(1999, 'EUR')).toBe('€19.99');
    expect(formatMoney(1999, 'usd')).toBe('$19.99');
    expect(formatMoney(1999, 'CHF')).toBe('19.99 CHF');
    expect(formatMoney(1999, '')).toBe('£19.99');
  });

  it('survives bad numbers', () => {
    expect(formatMoney(Number.NaN)).toBe('£0.00');
    expect(formatMoney(10.6)).toBe('£0.11');
  });
});

describe('minorToDecimal', () => {
  it('gives a form value', () => {
    expect(minorToDecimal(4250)).toBe('42.50');
    expect(minorToDecimal(7)).toBe('0.07');
    expect(minorToDecimal(-120)).toBe('-1.20');
  });
});
