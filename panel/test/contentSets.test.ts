import { describe, expect, it } from "vitest";
import { defaultConfig, problems, tagsFromText } from "../src/contentSets";

describe("problems", () => {
  it("accepts the defaults of every type", () => {
    for (const type of ["yesno", "updown", "rating", "like", "reaction", "message"] as const) {
      expect(problems("docs", type, defaultConfig(type), 60)).toEqual([]);
    }
  });

  it("names a bad key and an edit window out of range", () => {
    expect(problems("Docs Pages", "yesno", {}, 60)).toEqual([expect.stringMatching(/^Key:/)]);
    expect(problems("docs", "yesno", {}, -1)).toEqual(["Edit window: from 0 minutes to 30 days."]);
  });

  it("finds repeated reactions and empty emoji", () => {
    const reactions = [
      { key: "up", emoji: "👍", polarity: 1 as const },
      { key: "up", emoji: "", polarity: 0 as const },
    ];
    const found = problems("docs", "reaction", { reactions }, 60);
    expect(found).toContain("Reaction 2: pick an emoji.");
    expect(found).toContain("Reactions: “up” appears twice.");
  });

  it("checks tags, extra fields and the longest message of feedback forms", () => {
    const config = {
      tags: ["idea", "idea"],
      form_fields: [{ name: "Page", label: "", required: false, max_length: 100 }],
      max_length: 0,
    };
    expect(problems("feedback", "message", config, 60)).toEqual([
      "Tags: “idea” appears twice.",
      expect.stringMatching(/^Extra field 1:/),
      "Longest message: from 1 to 20,000 characters.",
    ]);
  });
});

describe("tagsFromText", () => {
  it("splits on commas and spaces and lowercases", () => {
    expect(tagsFromText("Idea, bug  other,")).toEqual(["idea", "bug", "other"]);
  });
});

import { scriptTag, widgetTag } from "../src/snippet";

describe("snippet", () => {
  it("gives the script tag with the key and the element of each type", () => {
    expect(scriptTag("https://fb.example.com", "fb_pk_1")).toBe(
      '<script src="https://fb.example.com/sdk/v1/feelback.js" data-key="fb_pk_1" defer></script>',
    );
    expect(widgetTag("reaction", "mood")).toBe('<feelback-reactions set="mood"></feelback-reactions>');
    expect(widgetTag("message", "notes")).toBe('<feelback-form set="notes"></feelback-form>');
  });
});
