// @vitest-environment happy-dom
import { h, render } from "preact";
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { useResource, type Resource } from "../src/ui/resource";

interface Pending<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

function pending<T>(): Pending<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((yes, no) => ((resolve = yes), (reject = no)));
  return { promise, resolve, reject };
}

const root = document.createElement("div");
let shown: Resource<string>;

function Probe({ load, deps }: { load: () => Promise<string>; deps: unknown[] }) {
  shown = useResource(load, deps);
  return null;
}

async function mount(load: () => Promise<string>, deps: unknown[]) {
  await act(() => render(h(Probe, { load, deps }), root));
}

async function settle(step: () => void) {
  await act(async () => {
    step();
    await new Promise((done) => setTimeout(done, 0));
  });
}

afterEach(() => render(null, root));

describe("useResource", () => {
  it("is loading, then has the data", async () => {
    const first = pending<string>();
    await mount(() => first.promise, ["a"]);
    expect([shown.loading, shown.data, shown.error]).toEqual([true, undefined, null]);
    await settle(() => first.resolve("projects"));
    expect([shown.loading, shown.data, shown.error]).toEqual([false, "projects", null]);
  });

  it("keeps the error's words, and a reload tries again", async () => {
    const calls = [pending<string>(), pending<string>()];
    let call = 0;
    await mount(() => calls[call++].promise, ["a"]);
    await settle(() => calls[0].reject(new Error("Could not reach Feelback. Check your connection and try again.")));
    expect([shown.loading, shown.error]).toEqual([false, "Could not reach Feelback. Check your connection and try again."]);
    await settle(() => shown.reload());
    expect([shown.loading, shown.error]).toEqual([true, null]);
    await settle(() => calls[1].resolve("back"));
    expect([shown.loading, shown.data, shown.error]).toEqual([false, "back", null]);
  });

  it("shows the answer to the latest deps, not a late answer to earlier ones", async () => {
    const older = pending<string>();
    const newer = pending<string>();
    await mount(() => older.promise, ["7d"]);
    await mount(() => newer.promise, ["30d"]);
    await settle(() => newer.resolve("30 days"));
    await settle(() => older.resolve("7 days"));
    expect([shown.loading, shown.data]).toEqual([false, "30 days"]);
  });
});
