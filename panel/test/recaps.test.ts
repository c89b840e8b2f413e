import { describe, expect, it } from "vitest";
import { previewNote } from "../src/recaps";

describe("previewNote", () => {
  const week = { label: "Week 9, 2025 (24 Feb – 02 Mar)", signals: 12, built: true };

  it("names the period and its signals", () => {
    expect(previewNote(week)).toEqual({ text: "Week 9, 2025 (24 Feb – 02 Mar): 12 signals.", empty: false });
    expect(previewNote({ ...week, signals: 1 }).text).toBe("Week 9, 2025 (24 Feb – 02 Mar): 1 signal.");
  });
  it("says when the period had no signals", () => {
    expect(previewNote({ ...week, signals: 0 })).toEqual({ text: "No signals in Week 9, 2025 (24 Feb – 02 Mar). This is what the recap says.", empty: true });
    expect(previewNote({ ...week, label: "February 2025", signals: 0 }).text).toBe("No signals in February 2025. This is what the recap says.");
  });
  it("says when nothing was built yet, whatever the count", () => {
    expect(previewNote({ ...week, signals: 0, built: false }).empty).toBe(true);
    expect(previewNote({ ...week, signals: 0, built: false }).text).toMatch(/not been built yet/);
  });
});
