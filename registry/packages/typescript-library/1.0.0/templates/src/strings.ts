/**
 * Turns free text into a URL-safe slug: lowercase ASCII letters and digits
 * separated by single hyphens. Accents are removed ("Crème brûlée" becomes
 * "creme-brulee").
 */
export function slugify(input: string): string {
  return input
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/**
 * Shortens `text` to at most `maxLength` characters, ending with `ellipsis`
 * when something was cut.
 *
 * @throws RangeError if `maxLength` is shorter than the ellipsis.
 */
export function truncate(text: string, maxLength: number, ellipsis = "…"): string {
  if (maxLength < ellipsis.length) {
    throw new RangeError(`maxLength must be at least ${ellipsis.length}`);
  }
  const chars = Array.from(text);
  if (chars.length <= maxLength) {
    return text;
  }
  return chars.slice(0, maxLength - ellipsis.length).join("").trimEnd() + ellipsis;
}
