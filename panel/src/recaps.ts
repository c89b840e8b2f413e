// What the Recaps screen says about a preview of the last recap, apart from the recap itself.
import type { components } from "./api/schema";
import { plural } from "./format";

export type RecapPreview = components["schemas"]["RecapPreviewOut"];
export type RecapPeriod = RecapPreview["period"];

export const RECAP_PERIODS: { name: RecapPeriod; label: string }[] = [
  { name: "weekly", label: "Weekly" },
  { name: "monthly", label: "Monthly" },
];

/** One line above the preview: the period and its count, or why the recap has nothing to say. */
export function previewNote(recap: Pick<RecapPreview, "label" | "signals" | "built">): { text: string; empty: boolean } {
  if (!recap.built) {
    return { text: `The warehouse has not been built yet, so the recap of ${recap.label} has no numbers. This is what it would say.`, empty: true };
  }
  if (recap.signals === 0) {
    return { text: `No signals in ${recap.label}. This is what the recap says.`, empty: true };
  }
  return { text: `${recap.label}: ${plural(recap.signals, "signal")}.`, empty: false };
}
