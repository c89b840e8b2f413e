import { describe, expect, it } from "vitest";
import { DEFAULT_FILTERS, filterSearch, readFilters, shortcut, sinceDays, tagChoices } from "../src/inbox";

describe("shortcut", () => {
  it("maps keys to actions", () => {
    expect(shortcut("j", false, false)).toEqual({ kind: "move", by: 1 });
    expect(shortcut("a", false, false)).toEqual({ kind: "triage", state: "archived" });
    expect(shortcut("u", false, false)).toEqual({ kind: "triage", state: "new" });
  });
  it("ignores keys typed in fields or with modifiers", () => {
    expect(shortcut("j", true, false)).toBeNull();
    expect(shortcut("r", false, true)).toBeNull();
    expect(shortcut("q", false, false)).toBeNull();
  });
});

describe("sinceDays", () => {
  it("counts back whole days from now", () => {
    expect(sinceDays(7, new Date("2026-03-15T12:00:00Z"))).toBe("2026-03-08T12:00:00.000Z");
    expect(sinceDays(0)).toBeUndefined();
  });
});

describe("filters in the address", () => {
  it("reads every filter, several tags included", () => {
    expect(readFilters("?state=any&set=feedback&content=%2Fpricing&tag=bug&tag=idea&tag=bug&sentiment=negative&days=7&q=slow")).toEqual({
      state: "",
      set: "feedback",
      content: "/pricing",
      tags: ["bug", "idea"],
      sentiment: "negative",
      days: 7,
      q: "slow",
    });
  });
  it("falls back to the defaults for values the panel does not offer", () => {
    expect(readFilters("")).toEqual(DEFAULT_FILTERS);
    expect(readFilters("?state=done&sentiment=happy&days=3")).toEqual(DEFAULT_FILTERS);
  });
  it("writes only what differs from the defaults, and reads it back", () => {
    expect(filterSearch(DEFAULT_FILTERS)).toBe("");
    const filters = { ...DEFAULT_FILTERS, state: "" as const, tags: ["bug", "ux"], sentiment: "positive" as const, q: "a b" };
    expect(filterSearch(filters)).toBe("?state=any&tag=bug&tag=ux&sentiment=positive&q=a+b");
    expect(readFilters(filterSearch(filters))).toEqual(filters);
  });
});

describe("tagChoices", () => {
  const sets = [
    { key: "feedback", signal_type: "message", config: { tags: ["idea", "bug"] } },
    { key: "survey", signal_type: "message", config: { tags: ["bug", "ux"] } },
    { key: "legacy", signal_type: "message", config: {} },
    { key: "votes", signal_type: "yesno", config: {} },
  ];
  it("offers the chosen form's tags, or every form's once", () => {
    expect(tagChoices(sets, "survey")).toEqual(["bug", "ux"]);
    expect(tagChoices(sets, "")).toEqual(["idea", "bug", "ux", "other"]);
    expect(tagChoices(sets, "votes")).toEqual([]);
  });
});
