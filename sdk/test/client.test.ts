// Unit tests of the client core (queue, backoff, storage, encoding), run by node's own test runner.
import assert from "node:assert/strict";
import { test } from "node:test";

import { backoff, Client, enqueue, ready, statsUrl, wire } from "../src/client";
import { State, Store } from "../src/store";

const fresh = (): State => ({ q: [], m: {}, ids: {}, a: "visitor-1234" });

class MemoryStorage {
  items = new Map<string, string>();
  getItem(key: string) {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.items.set(key, value);
  }
}

type Call = { url: string; body: any };

/** A fetch that answers each batch with `answer(operations, callNumber)`. */
function fakeFetch(answer: (operations: any[], call: number) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fetch = async (url: any, init?: any) => {
    const body = init?.body ? JSON.parse(init.body) : undefined;
    calls.push({ url: String(url), body });
    return answer(body?.operations || [], calls.length);
  };
  return { calls, fetch: fetch as typeof globalThis.fetch };
}

const created = (operations: any[]) =>
  Response.json({
    results: operations.map((op, index) => ({
      status: op.op === "create" ? 201 : 200,
      body: { signal_id: `sig-${op.idempotency_key}`, edit_token: "tok", editable_until: "2099-01-01T00:00:00Z", revoked: op.op === "revoke" || undefined, index },
    })),
  });

test("backoff doubles with jitter, caps, and honours Retry-After in seconds or as a date", () => {
  assert.equal(backoff(1, null, () => 1), 1000);
  assert.equal(backoff(3, null, () => 1), 4000);
  assert.equal(backoff(3, null, () => 0), 2000);
  assert.equal(backoff(20, null, () => 1), 60_000);
  assert.equal(backoff(1, "7"), 7000);
  assert.equal(backoff(5, "0"), 0);
  const inTwoSeconds = new Date(Date.now() + 2500).toUTCString();
  const waited = backoff(1, inTwoSeconds);
  assert.ok(waited > 1000 && waited <= 2500, String(waited));
  assert.equal(backoff(1, "99999"), 300_000);
});

test("stats URLs encode the set, the key and every content key", () => {
  const url = statsUrl("https://api.example", "fb_pk_a+b", "docs", ["/a b?c=1&d#e", "/ü/+/%"]);
  assert.equal(
    url,
    "https://api.example/v1/stats/docs/batch?key=fb_pk_a%2Bb&content=%2Fa%20b%3Fc%3D1%26d%23e&content=%2F%C3%BC%2F%2B%2F%25",
  );
  const parsed = new URL(url);
  assert.deepEqual(parsed.searchParams.getAll("content"), ["/a b?c=1&d#e", "/ü/+/%"]);
});

test("an edit of an unsent create rewrites it; an undo of it drops it: nothing needless is sent", () => {
  const state = fresh();
  enqueue(state, "votes", "/a", "yes", { value: "yes" }, 1);
  enqueue(state, "votes", "/a", "no", { value: "no" }, 2);
  assert.equal(state.q.length, 1);
  assert.deepEqual(state.q[0].b, { value: "no" });
  assert.equal(state.m["votes\n/a"].v, "no");
  enqueue(state, "votes", "/a", null, null, 3);
  assert.equal(state.q.length, 0);
  assert.equal(state.m["votes\n/a"], undefined);
});

test("after a create was sent, changes become edits and revokes that wait for its signal id", () => {
  const state = fresh();
  const create = enqueue(state, "votes", "/a", "yes", { value: "yes" }, 1)!;
  create.sent = 1;
  enqueue(state, "votes", "/a", "no", { value: "no" }, 2);
  enqueue(state, "votes", "/a", "yes", { value: "yes" }, 3); // replaces the unsent edit
  assert.deepEqual(state.q.map((op) => op.op), ["create", "edit"]);
  assert.deepEqual(ready(state).map((op) => op.op), ["create"], "the edit waits for the create's id");
  state.ids[create.k] = ["sig-1", "tok-1"];
  state.q.shift();
  const [edit] = ready(state);
  assert.deepEqual(wire(state, edit), {
    op: "edit", idempotency_key: edit.k, occurred_at: new Date(3).toISOString(), signal_id: "sig-1", edit_token: "tok-1", value: "yes",
  });
});

test("wire form of a create carries the anonymous id and the client's time", () => {
  const state = fresh();
  const op = enqueue(state, "docs", "/p", "4", { value: 4 }, Date.UTC(2026, 0, 2))!;
  assert.deepEqual(wire(state, op), {
    op: "create", idempotency_key: op.k, occurred_at: "2026-01-02T00:00:00.000Z",
    content_set: "docs", content_key: "/p", anonymous_id: "visitor-1234", value: 4,
  });
});

test("storage: kept in localStorage, in memory when storage throws", () => {
  const storage = new MemoryStorage();
  const store = new Store("feelback:k", storage);
  store.tx((state) => state.q.push({ k: "1", op: "create", ck: "1", s: "s", c: "c", t: 0 }));
  assert.equal(new Store("feelback:k", storage).load().q.length, 1, "another page (or tab) sees the queue");
  const blocked = {
    getItem() {
      throw new Error("SecurityError");
    },
    setItem() {
      throw new Error("QuotaExceededError");
    },
  };
  const memory = new Store("feelback:k", blocked);
  memory.tx((state) => state.q.push({ k: "2", op: "create", ck: "2", s: "s", c: "c", t: 0 }));
  assert.equal(memory.load().q.length, 1);
});

test("a lost answer is retried with the same idempotency keys, then the queue is empty", async () => {
  const { calls, fetch } = fakeFetch((operations, call) => {
    if (call === 1) throw new TypeError("network");
    return created(operations);
  });
  const client = new Client({ key: "fb_pk_x", endpoint: "https://api", storage: new MemoryStorage(), fetch, random: () => 0 });
  const events: string[] = [];
  client.on("votes", "/a", (kind) => events.push(kind));
  client.set("votes", "/a", "yes", { value: "yes" });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(client.pending(), 1);
  client.retryNow();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(calls.length, 2);
  assert.equal(calls[0].body.operations[0].idempotency_key, calls[1].body.operations[0].idempotency_key);
  assert.deepEqual(calls[0].body, calls[1].body, "the retry is the same request");
  assert.equal(client.pending(), 0);
  assert.deepEqual(events, ["sent"]);
  assert.deepEqual(client.mine("votes", "/a"), { value: "yes", editable: true });
});

test("a 429 waits for Retry-After before the next attempt", async () => {
  let now = 1_000_000;
  const { calls, fetch } = fakeFetch((operations, call) =>
    call === 1
      ? new Response('{"error":{"code":"rate_limited"}}', { status: 429, headers: { "retry-after": "3" } })
      : created(operations),
  );
  const client = new Client({ key: "k", endpoint: "", storage: new MemoryStorage(), fetch, now: () => now });
  client.set("votes", "/a", "yes", { value: "yes" });
  await new Promise((resolve) => setTimeout(resolve, 10));
  await client.flush();
  assert.equal(calls.length, 1, "no attempt before Retry-After");
  now += 3001;
  await client.flush();
  assert.equal(calls.length, 2);
  assert.equal(client.pending(), 0);
  client.retryNow(); // clears the pending timer
});

test("leaving the page sends at once after a network error, but still waits for Retry-After", async () => {
  let now = 1_000_000;
  const { calls, fetch } = fakeFetch((operations, call) => {
    if (call === 1) throw new TypeError("network");
    if (call === 2) return new Response("{}", { status: 503, headers: { "retry-after": "30" } });
    return created(operations);
  });
  const client = new Client({ key: "k", endpoint: "", storage: new MemoryStorage(), fetch, now: () => now, random: () => 1 });
  client.set("votes", "/a", "yes", { value: "yes" });
  await new Promise((resolve) => setTimeout(resolve, 10));
  await client.flush();
  assert.equal(calls.length, 1, "a plain flush waits out the backoff");
  await client.flush(true);
  assert.equal(calls.length, 2, "leaving does not: the page's timers may never run again");
  await client.flush(true);
  assert.equal(calls.length, 2, "the server's Retry-After holds even when leaving");
  now += 30_001;
  await client.flush(true);
  assert.equal(calls.length, 3);
  assert.equal(client.pending(), 0);
  client.retryNow(); // clears the pending timer
});

test("per-operation results: a refused create is forgotten and reported, a rate-limited one waits", async () => {
  const { fetch } = fakeFetch((operations) =>
    Response.json({
      results: [
        { status: 422, body: { error: { code: "invalid_signal", message: "value: no" } } },
        { status: 429, body: { error: { code: "rate_limited", retry_after: 2 } } },
      ].slice(0, operations.length),
    }),
  );
  const client = new Client({ key: "k", endpoint: "", storage: new MemoryStorage(), fetch });
  const failures: unknown[] = [];
  client.on("votes", "/bad", (kind, detail) => kind === "failed" && failures.push(detail.error));
  client.store.tx((state) => {
    enqueue(state, "votes", "/bad", "maybe", { value: "maybe" }, 1);
    enqueue(state, "votes", "/busy", "yes", { value: "yes" }, 2);
  });
  await client.flush();
  assert.deepEqual(failures, [{ code: "invalid_signal", message: "value: no" }]);
  assert.equal(client.mine("votes", "/bad"), undefined);
  assert.equal(client.pending(), 1);
  client.retryNow();
});

test("stats reads made together share one request per set", async () => {
  const { calls, fetch } = fakeFetch(() =>
    Response.json({ contents: { "/a": { total: 1, counts: { yes: 1 }, average: null }, "/b": { total: 0, counts: {}, average: null } } }),
  );
  const client = new Client({ key: "k", endpoint: "https://api", storage: new MemoryStorage(), fetch });
  const [a, b] = await Promise.all([client.stats("votes", "/a"), client.stats("votes", "/b")]);
  assert.equal(calls.length, 1);
  assert.equal(a!.counts.yes, 1);
  assert.equal(b!.total, 0);
  assert.ok(calls[0].url.endsWith("/v1/stats/votes/batch?key=k&content=%2Fa&content=%2Fb"));
});

test("configs of every set asked together come from one request", async () => {
  const { calls, fetch } = fakeFetch(() => Response.json({ sets: { a: { signal_type: "yesno", config: {}, edit_window_seconds: 60 } }, unknown: ["b"] }));
  const client = new Client({ key: "k", endpoint: "", storage: new MemoryStorage(), fetch });
  const [a, b] = await Promise.all([client.config("a"), client.config("b")]);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].url, "/v1/widget-config?key=k&set=a&set=b");
  assert.equal(a!.signal_type, "yesno");
  assert.equal(b, undefined);
});

test("the ES module build imports on a server without touching window or customElements", async () => {
  const built = new URL("../v1/feelback.mjs", import.meta.url).href; // dist/test/ -> dist/v1/
  const module = await import(built);
  assert.equal(typeof module.define, "function");
  assert.equal(typeof module.configure, "function");
  module.configure({ key: "k" });
});

test("an edit or undo refused after the edit window shows the value the server kept, final", async () => {
  const { fetch } = fakeFetch((operations) =>
    Response.json({
      results: operations.map((op) =>
        op.op === "create"
          ? { status: 201, body: { signal_id: "sig", edit_token: "tok", editable_until: "2099-01-01T00:00:00Z" } }
          : { status: 409, body: { error: { code: "signal_final", message: "closed" } } },
      ),
    }),
  );
  const client = new Client({ key: "k", endpoint: "", storage: new MemoryStorage(), fetch });
  client.set("votes", "/a", "yes", { value: "yes" });
  await new Promise((resolve) => setTimeout(resolve, 10));
  client.set("votes", "/a", "no", { value: "no" });
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(client.mine("votes", "/a"), { value: "yes", editable: false });

  client.set("votes", "/b", "yes", { value: "yes" });
  await new Promise((resolve) => setTimeout(resolve, 10));
  client.set("votes", "/b", "no", { value: "no" });
  client.set("votes", "/b", null, null); // the undo replaces the unsent edit; the server still has "yes"
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(client.mine("votes", "/b"), { value: "yes", editable: false });
  assert.equal(client.pending(), 0);
});

test("a request refused for good (origin, key) puts the API's words in the console and is not retried", async (t) => {
  const warned = t.mock.method(console, "warn", () => {});
  const refused = { error: { code: "origin_not_allowed", message: "origin https://x.example is not allowed for project 'p'" } };
  const { calls, fetch } = fakeFetch(() => Response.json(refused, { status: 403 }));
  const client = new Client({ key: "k", endpoint: "", storage: new MemoryStorage(), fetch });
  const failures: unknown[] = [];
  client.on("votes", "/a", (kind, detail) => kind === "failed" && failures.push(detail.error));
  client.store.tx((state) => void enqueue(state, "votes", "/a", "yes", { value: "yes" }, 1));
  await client.flush();
  assert.equal(await client.config("votes"), undefined);
  assert.deepEqual(failures, [refused.error]);
  assert.equal(client.pending(), 0);
  assert.equal(calls.length, 2);
  assert.deepEqual(
    warned.mock.calls.map((call) => call.arguments),
    [["feelback:", refused.error.message], ["feelback:", refused.error.message]],
  );
});
