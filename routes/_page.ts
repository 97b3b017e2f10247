/**
 * Size-bounded pages of a listing: a page ends once its items' JSON would pass
 * 16 Mi characters, so no answer comes near the longest string V8 makes (~512 Mi
 * characters: past it `JSON.stringify` throws and the route answered 500).
 *
 * @module
 */

/** Characters of JSON one page of a listing holds at most (it always holds one item). */
export const PAGE_MAX_CHARS = 16 * 1024 * 1024;

/**
 * A page's running size check, for items made one at a time: `fits(item)` is
 * true while the items so far fit in `max` characters of JSON (the first always
 * does); once one does not, `cut` is true.
 */
export function pageBudget(max = PAGE_MAX_CHARS) {
  let chars = 0;
  let count = 0;
  const budget = {
    /** True once an item did not fit. */
    cut: false,
    fits(item: unknown): boolean {
      chars += JSON.stringify(item).length;
      if (count++ === 0 || chars <= max) return true;
      budget.cut = true;
      return false;
    },
  };
  return budget;
}

/** The first of `items` whose JSON fits in `max` characters (at least one), and whether any were left. */
export function sizedPage<T>(
  items: readonly T[],
  max = PAGE_MAX_CHARS,
): { page: T[]; cut: boolean } {
  const budget = pageBudget(max);
  const page: T[] = [];
  for (const item of items) {
    if (!budget.fits(item)) break;
    page.push(item);
  }
  return { page, cut: budget.cut };
}

/** The items after the one `idOf` names `after` (all of them when `after` is undefined or unknown: none). */
export function itemsAfter<T>(
  items: readonly T[],
  after: string | undefined,
  idOf: (item: T) => string,
): T[] {
  if (after === undefined) return [...items];
  const at = items.findIndex((item) => idOf(item) === after);
  return at < 0 ? [] : items.slice(at + 1);
}
