import { describe, expect, it } from "vitest";
import { contentHref, href, match, projectHref } from "../src/router";

describe("match", () => {
  it("finds the screen and its parameters under /app", () => {
    expect(match("/app/p/abc/inbox")).toEqual({ name: "inbox", params: { project: "abc" } });
    expect(match("/app/p/abc/sets/docs-pages")).toEqual({ name: "set", params: { project: "abc", set: "docs-pages" } });
    expect(match("/app/p/abc")).toEqual({ name: "overview", params: { project: "abc" } });
  });

  it("keeps a content key with slashes in one segment", () => {
    const link = contentHref("p1", "docs", "/guide/intro");
    expect(link).toBe("/app/p/p1/content/docs/%2Fguide%2Fintro");
    expect(match(link)).toEqual({ name: "content", params: { project: "p1", set: "docs", key: "/guide/intro" } });
  });

  it("treats the root and a trailing slash as the projects list", () => {
    expect(match("/app/").name).toBe("projects");
    expect(match("/app").name).toBe("projects");
    expect(match("/app/projects/").name).toBe("projects");
  });

  it("says notfound for anything else", () => {
    expect(match("/app/p/abc/nope").name).toBe("notfound");
    expect(match("/app/p//inbox").name).toBe("notfound");
  });

  it("decodes parameters and encodes them back", () => {
    expect(match("/app/p/a%20b/keys").params.project).toBe("a b");
    expect(projectHref("a b", "keys")).toBe("/app/p/a%20b/keys");
    expect(href("signin")).toBe("/app/signin");
  });
});
