import { describe, expect, it } from "vitest";
import { shortcut, sinceDays } from "../src/inbox";

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
