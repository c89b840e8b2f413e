// What each kind of content set collects and what its options mean, in plain words, and the checks
// the form makes before sending (the API checks everything again and names any field it refuses).
import type { components } from "./api/schema";

export type SignalType = components["schemas"]["SignalType"];

export interface Reaction {
  key: string;
  emoji: string;
  polarity: -1 | 0 | 1;
}

export interface FormFieldConfig {
  name: string;
  label: string;
  required: boolean;
  max_length: number;
}

// A type alias (not an interface) so it fits the API's free-form config object.
export type Config = {
  scale?: 5 | 7 | 10;
  reactions?: Reaction[];
  tags?: string[];
  form_fields?: FormFieldConfig[];
  max_length?: number;
};

export const TYPES: { type: SignalType; label: string; help: string }[] = [
  { type: "yesno", label: "Yes / no", help: "“Was this page helpful?” with a Yes and a No button." },
  { type: "updown", label: "Up / down", help: "A thumbs up and a thumbs down." },
  { type: "rating", label: "Rating", help: "Stars from 1 to 5, 7 or 10." },
  { type: "like", label: "Like", help: "One heart or like button; people can only add a like." },
  { type: "reaction", label: "Reactions", help: "A row of emoji; each one counts as positive, neutral or negative." },
  { type: "message", label: "Feedback form", help: "Free text, with optional tags, extra fields and a contact e-mail." },
];

export const KEY_PATTERN = /^[a-z0-9][a-z0-9_-]{0,39}$/;
export const KEY_RULE = "1 to 40 lowercase letters, digits, “_” or “-”, starting with a letter or digit";

export const DEFAULT_REACTIONS: Reaction[] = [
  { key: "thumbs_up", emoji: "👍", polarity: 1 },
  { key: "heart", emoji: "❤️", polarity: 1 },
  { key: "tada", emoji: "🎉", polarity: 1 },
  { key: "smile", emoji: "😄", polarity: 1 },
  { key: "confused", emoji: "😕", polarity: -1 },
  { key: "thumbs_down", emoji: "👎", polarity: -1 },
  { key: "cry", emoji: "😢", polarity: -1 },
  { key: "rage", emoji: "😡", polarity: -1 },
  { key: "eyes", emoji: "👀", polarity: 0 },
  { key: "thinking", emoji: "🤔", polarity: 0 },
];

export function defaultConfig(type: SignalType): Config {
  switch (type) {
    case "rating":
      return { scale: 5 };
    case "reaction":
      return { reactions: DEFAULT_REACTIONS.map((reaction) => ({ ...reaction })) };
    case "message":
      return { tags: ["idea", "bug", "other"], form_fields: [], max_length: 5000 };
    default:
      return {};
  }
}

/** One person, one signal per content: on for every type except feedback forms. */
export function defaultOnePerVisitor(type: SignalType): boolean {
  return type !== "message";
}

export function typeLabel(type: string): string {
  return TYPES.find((entry) => entry.type === type)?.label ?? type;
}

export function tagsFromText(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((tag) => tag.trim().toLowerCase())
    .filter(Boolean);
}

function repeated(values: string[]): string | undefined {
  return values.find((value, index) => values.indexOf(value) !== index);
}

/** What is wrong with the form, in words, or an empty list. */
export function problems(key: string, type: SignalType, config: Config, editWindowMinutes: number): string[] {
  const found: string[] = [];
  if (!KEY_PATTERN.test(key)) found.push(`Key: use ${KEY_RULE}.`);
  if (!Number.isFinite(editWindowMinutes) || editWindowMinutes < 0 || editWindowMinutes > 30 * 24 * 60) {
    found.push("Edit window: from 0 minutes to 30 days.");
  }
  if (type === "reaction") {
    const reactions = config.reactions ?? [];
    if (reactions.length < 1 || reactions.length > 50) found.push("Reactions: from 1 to 50.");
    reactions.forEach((reaction, index) => {
      if (!KEY_PATTERN.test(reaction.key)) found.push(`Reaction ${index + 1}: its name must be ${KEY_RULE}.`);
      if (!reaction.emoji.trim()) found.push(`Reaction ${index + 1}: pick an emoji.`);
    });
    const sameKey = repeated(reactions.map((reaction) => reaction.key));
    if (sameKey) found.push(`Reactions: “${sameKey}” appears twice.`);
    const sameEmoji = repeated(reactions.map((reaction) => reaction.emoji));
    if (sameEmoji) found.push(`Reactions: ${sameEmoji} appears twice.`);
  }
  if (type === "message") {
    const tags = config.tags ?? [];
    const badTag = tags.find((tag) => !KEY_PATTERN.test(tag));
    if (badTag) found.push(`Tags: “${badTag}” must be ${KEY_RULE}.`);
    if (repeated(tags)) found.push(`Tags: “${repeated(tags)}” appears twice.`);
    const fields = config.form_fields ?? [];
    fields.forEach((field, index) => {
      if (!KEY_PATTERN.test(field.name)) found.push(`Extra field ${index + 1}: its name must be ${KEY_RULE}.`);
    });
    if (repeated(fields.map((field) => field.name))) found.push("Extra fields: two have the same name.");
    const max = config.max_length ?? 5000;
    if (!Number.isInteger(max) || max < 1 || max > 20000) found.push("Longest message: from 1 to 20,000 characters.");
  }
  return found;
}
