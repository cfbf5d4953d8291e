/**
 * {{ description }}
 *
 * @packageDocumentation
 */

export { slugify, truncate } from "./strings.js";
export { chunk, groupBy } from "./arrays.js";
