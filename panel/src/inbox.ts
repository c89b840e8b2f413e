// The inbox's pure parts: which keys do what, the filters in the address, the time filter as an instant.
import { defaultConfig, type Config } from "./contentSets";

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

// The filters live in the address (?state=&set=&content=&tag=&sentiment=&days=&q=), so a filtered
// inbox can be reloaded, shared and gone back to. Values the panel would not offer fall back to the defaults.
export type Sentiment = "positive" | "neutral" | "negative";

export interface InboxFilters {
  state: TriageState | "";
  set: string;
  content: string;
  tags: string[];
  sentiment: Sentiment | "";
  days: number;
  q: string;
}

export const DEFAULT_FILTERS: InboxFilters = { state: "new", set: "", content: "", tags: [], sentiment: "", days: 0, q: "" };
export const DAY_CHOICES = [0, 1, 7, 30, 90];
const STATES = ["new", "read", "archived"];
const SENTIMENTS = ["positive", "neutral", "negative"];

/** The filters a query string holds ("any" state is `state=any`; several tags repeat `tag`). */
export function readFilters(search: string): InboxFilters {
  const params = new URLSearchParams(search);
  const state = params.get("state");
  const sentiment = params.get("sentiment") ?? "";
  const days = Number(params.get("days") ?? 0);
  return {
    state: state === "any" ? "" : STATES.includes(state ?? "") ? (state as TriageState) : DEFAULT_FILTERS.state,
    set: params.get("set") ?? "",
    content: params.get("content") ?? "",
    tags: [...new Set(params.getAll("tag").filter(Boolean))],
    sentiment: SENTIMENTS.includes(sentiment) ? (sentiment as Sentiment) : "",
    days: DAY_CHOICES.includes(days) ? days : 0,
    q: params.get("q") ?? "",
  };
}

/** The query string of ``filters`` ("" when they are the defaults), the inverse of ``readFilters``. */
export function filterSearch(filters: InboxFilters): string {
  const params = new URLSearchParams();
  if (filters.state !== DEFAULT_FILTERS.state) params.set("state", filters.state || "any");
  if (filters.set) params.set("set", filters.set);
  if (filters.content) params.set("content", filters.content);
  for (const tag of filters.tags) params.append("tag", tag);
  if (filters.sentiment) params.set("sentiment", filters.sentiment);
  if (filters.days) params.set("days", String(filters.days));
  if (filters.q) params.set("q", filters.q);
  const search = params.toString();
  return search ? `?${search}` : "";
}

/** The tags one may filter by: the chosen feedback form's, or those of every form, each once. */
export function tagChoices(sets: { key: string; signal_type: string; config: Config }[], chosenSet: string): string[] {
  const tags = sets
    .filter((set) => set.signal_type === "message" && (!chosenSet || set.key === chosenSet))
    .flatMap((set) => set.config.tags ?? defaultConfig("message").tags ?? []);
  return [...new Set(tags)];
}
