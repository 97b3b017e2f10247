/**
 * Size-bounded pages of a listing: a page ends once its items' JSON would pass
 * 16 Mi characters, so no answer comes near the longest string V8 makes (~512 Mi
 * characters: past it `JSON.stringify` throws and the route answered 500).
 *
 * @module
 */

/** Characters of JSON one page of a listing holds at most (it always holds one item). */
export const PAGE_MAX_CHARS = 16 * 1024 * 1024;

/** The first of `items` whose JSON fits in `max` characters (at least one), and whether any were left. */
export function sizedPage<T>(
  items: readonly T[],
  max = PAGE_MAX_CHARS,
): { page: T[]; cut: boolean } {
  let chars = 0;
  for (let i = 0; i < items.length; i++) {
    chars += JSON.stringify(items[i]).length;
    if (i > 0 && chars > max) return { page: items.slice(0, i), cut: true };
  }
  return { page: [...items], cut: false };
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
