import { describe, expect, it } from "vitest";
import { change } from "../src/format";
import { errorText } from "../src/api/errors";

describe("change", () => {
  it("gives the percentage with its sign", () => {
    expect(change(125, 100)).toEqual({ text: "+25%", direction: "up" });
    expect(change(90, 100)).toEqual({ text: "−10%", direction: "down" });
  });
  it("says new, no change, or under one percent", () => {
    expect(change(3, 0)).toEqual({ text: "new", direction: "up" });
    expect(change(0, 0)).toEqual({ text: "no change", direction: "flat" });
    expect(change(1001, 1000)).toEqual({ text: "+<1%", direction: "up" });
  });
});

describe("errorText", () => {
  it("uses the API's message as a sentence", () => {
    expect(errorText({ error: { code: "conflict", message: "project already has a content set 'docs'" } }, 409)).toBe(
      "Project already has a content set 'docs'.",
    );
  });
  it("falls back to words for the status, and to a network message", () => {
    expect(errorText(undefined, 403)).toMatch(/role does not allow/);
    expect(errorText(undefined, 502)).toMatch(/our side/);
    expect(errorText(new TypeError("Failed to fetch"))).toMatch(/Could not reach Feelback/);
  });
});
