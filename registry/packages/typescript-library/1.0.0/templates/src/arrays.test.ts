import { describe, expect, it } from "vitest";

import { chunk, groupBy } from "./index.js";

describe("chunk", () => {
  it("splits into equal chunks with a shorter tail", () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("returns no chunks for an empty array", () => {
    expect(chunk([], 3)).toEqual([]);
  });

  it("rejects a non-positive size", () => {
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });
});

describe("groupBy", () => {
  it("groups by key and keeps order", () => {
    const words = ["apple", "avocado", "banana", "blueberry", "cherry"];
    const groups = groupBy(words, (word) => word[0] ?? "");
    expect([...groups.keys()]).toEqual(["a", "b", "c"]);
    expect(groups.get("b")).toEqual(["banana", "blueberry"]);
  });
});
