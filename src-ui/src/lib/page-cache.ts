// Rows of a long server-side list, fetched in fixed-size pages and cached by
// page index. A filter or search change calls `reset()`, which starts a new
// generation: answers to requests made before it are dropped, so a slow old
// page can never show up under a new search.

export class PageCache<T> {
  private pages = new Map<number, T[]>();
  private loading = new Set<number>();
  private gen = 0;

  constructor(
    readonly pageSize = 200,
    /** Pages kept at most; the ones farthest from the view go first. */
    readonly maxPages = 50,
  ) {}

  /** Changes on every reset; pass it back to `store`/`fail`. */
  get generation(): number {
    return this.gen;
  }

  /** Number of pages held. */
  get size(): number {
    return this.pages.size;
  }

  pageOf(index: number): number {
    return Math.floor(index / this.pageSize);
  }

  /** The row at `index`, if its page is loaded. */
  get(index: number): T | undefined {
    return this.pages.get(this.pageOf(index))?.[index % this.pageSize];
  }

  hasPage(page: number): boolean {
    return this.pages.has(page);
  }

  isLoading(page: number): boolean {
    return this.loading.has(page);
  }

  /** Page indices covering rows `start` (inclusive) to `end` (exclusive). */
  pagesFor(start: number, end: number): number[] {
    if (end <= start) return [];
    const out: number[] = [];
    for (let p = this.pageOf(Math.max(0, start)); p <= this.pageOf(end - 1); p++) out.push(p);
    return out;
  }

  /** Pages of that range neither loaded nor on their way. */
  missing(start: number, end: number): number[] {
    return this.pagesFor(start, end).filter((p) => !this.pages.has(p) && !this.loading.has(p));
  }

  markLoading(page: number): void {
    this.loading.add(page);
  }

  /** Keep a fetched page; false (and nothing kept) if it belongs to an older generation. */
  store(generation: number, page: number, rows: T[]): boolean {
    if (generation !== this.gen) return false;
    this.loading.delete(page);
    this.pages.set(page, rows);
    return true;
  }

  /** A fetch failed: forget it was loading so it can be tried again. */
  fail(generation: number, page: number): void {
    if (generation === this.gen) this.loading.delete(page);
  }

  /** Drop pages farthest from `centerPage` until at most `maxPages` remain. */
  trim(centerPage: number): number[] {
    if (this.pages.size <= this.maxPages) return [];
    const byDistance = [...this.pages.keys()].sort(
      (a, b) => Math.abs(b - centerPage) - Math.abs(a - centerPage),
    );
    const dropped = byDistance.slice(0, this.pages.size - this.maxPages);
    for (const p of dropped) this.pages.delete(p);
    return dropped;
  }

  /**
   * The rows changed (records arrived from elsewhere), the query did not:
   * start a new generation but keep the pages on screen until their new
   * versions arrive. Returns the pages to fetch again.
   */
  refresh(): number[] {
    this.gen++;
    this.loading.clear();
    return [...this.pages.keys()];
  }

  /** Forget everything (the query changed). */
  reset(): void {
    this.gen++;
    this.pages.clear();
    this.loading.clear();
  }
}
