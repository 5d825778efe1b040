// The Lezer plugin turns `.grammar` files into modules at build time.
declare module '*.grammar' {
  import type { LRParser } from '@lezer/lr';
  export const parser: LRParser;
}

declare module '*.grammar.terms' {
  export const insertSemi: number;
}
