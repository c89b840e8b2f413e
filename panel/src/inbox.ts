// The inbox's pure parts: which keys do what, and the time filter as an instant.
export type TriageState = "new" | "read" | "archived";

export const SHORTCUTS: { key: string; does: string }[] = [
  { key: "j", does: "next message" },
  { key: "k", does: "previous message" },
  { key: "x", does: "select or unselect the message" },
  { key: "r", does: "mark read" },
  { key: "a", does: "archive" },
  { key: "u", does: "move back to new" },
  { key: "/", does: "search" },
];

export type ShortcutAction =
  | { kind: "move"; by: 1 | -1 }
  | { kind: "select" }
  | { kind: "triage"; state: TriageState }
  | { kind: "search" }
  | null;

/** What a key press does, or null (typing in a field, modifier keys, other keys). */
export function shortcut(key: string, inField: boolean, modified: boolean): ShortcutAction {
  if (inField || modified) return null;
  switch (key) {
    case "j":
      return { kind: "move", by: 1 };
    case "k":
      return { kind: "move", by: -1 };
    case "x":
      return { kind: "select" };
    case "r":
      return { kind: "triage", state: "read" };
    case "a":
      return { kind: "triage", state: "archived" };
    case "u":
      return { kind: "triage", state: "new" };
    case "/":
      return { kind: "search" };
    default:
      return null;
  }
}

/** The start of a "last N days" filter, as an ISO instant; undefined for "any time". */
export function sinceDays(days: number, now: Date = new Date()): string | undefined {
  if (!days) return undefined;
  return new Date(now.getTime() - days * 86_400_000).toISOString();
}
