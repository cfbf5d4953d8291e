import { describe, expect, it } from "vitest";

import { slugify, truncate } from "./index.js";

describe("slugify", () => {
  it.each([
    ["Hello, World!", "hello-world"],
    ["  many   spaces  ", "many-spaces"],
    ["Crème brûlée", "creme-brulee"],
    ["---", ""],
  ])("slugify(%j) === %j", (input, expected) => {
    expect(slugify(input)).toBe(expected);
  });
});

describe("truncate", () => {
  it("leaves short text alone", () => {
    expect(truncate("short", 10)).toBe("short");
  });

  it("cuts long text and appends an ellipsis", () => {
    expect(truncate("The quick brown fox", 10)).toBe("The quick…");
  });

  it("counts characters, not UTF-16 code units", () => {
    expect(truncate("😀😀😀😀", 3)).toBe("😀😀…");
  });

  it("rejects a limit shorter than the ellipsis", () => {
    expect(() => truncate("abc", 2, "...")).toThrow(RangeError);
  });
});
