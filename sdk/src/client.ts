// The client: speaks Feelback's public API. Operations wait in a persisted queue, leave in batches
// (POST /v1/batch) with one idempotency key each, and are retried with exponential backoff that
// honours Retry-After, so a click is never lost and never counted twice. Stats reads of many
// contents of a set made in the same moment share one GET /v1/stats/{set}/batch.

import { Body, Op, State, Storage, Store, uid } from "./store";

export type Kind = "sent" | "edited" | "revoked" | "failed";
export type Listener = (kind: Kind, detail: Record<string, unknown>) => void;
export type Counts = Record<string, number>;
export interface Stats {
  total: number;
  counts: Counts;
  average: number | null;
}
export interface SetConfig {
  signal_type: string;
  config: Record<string, any>;
  edit_window_seconds: number;
}
export interface Options {
  key: string;
  endpoint: string;
  storage?: Storage;
  fetch?: typeof fetch;
  now?: () => number;
  random?: () => number;
}

const MAX_BATCH = 100;
const MAX_DELAY = 300_000;
const KEEPALIVE_LIMIT = 60_000; // browsers refuse keepalive bodies over 64 KiB in flight

/** Delay before retry number `attempt` (1, 2, ...): exponential with jitter, or Retry-After when given. */
/** A request refused for good (key, origin, size): the API's own words go to the console, where the site's developer looks. */
async function refusal(response: Response): Promise<{ code?: string; message?: string } | undefined> {
  const error = (await response.json().catch(() => ({})))?.error;
  console.warn("feelback:", error?.message || `HTTP ${response.status}`);
  return error;
}

export function backoff(attempt: number, retryAfter: string | null | undefined, random = Math.random): number {
  const seconds = Number(retryAfter);
  if (retryAfter && seconds >= 0) return Math.min(seconds * 1000, MAX_DELAY);
  if (retryAfter) {
    const at = Date.parse(retryAfter); // HTTP date form
    if (at) return Math.min(Math.max(at - Date.now(), 0), MAX_DELAY);
  }
  const base = Math.min(1000 * 2 ** (attempt - 1), 60_000);
  return Math.round(base * (0.5 + random() / 2));
}

/** `/v1/stats/{set}/batch?content=...&content=...` with every part URL-encoded. */
export function statsUrl(endpoint: string, key: string, set: string, contents: string[]): string {
  const query = contents.map((content) => "&content=" + encodeURIComponent(content)).join("");
  return `${endpoint}/v1/stats/${encodeURIComponent(set)}/batch?key=${encodeURIComponent(key)}${query}`;
}

export const refOf = (set: string, content: string): string => set + "\n" + content;

/** What the queue holds after the visitor sets `value` (null: undo) for a content. Operations not sent yet are
 * rewritten rather than followed: an edit of an unsent create changes the create, an undo of it drops both. */
export function enqueue(state: State, set: string, content: string, value: unknown, body: Body | null, now: number): Op | undefined {
  const ref = refOf(set, content);
  const mine = state.m[ref];
  const unsent = (op: Op) => !op.sent && op.ck === mine?.ck;
  const pending = state.q.find((op) => op.op === "create" && unsent(op));
  // what the server has while this operation is unsent: the value before the unsent edit it replaces
  const held = () => {
    const edit = state.q.find((op) => op.op === "edit" && unsent(op));
    return edit ? edit.p : mine!.v;
  };
  if (body === null) {
    if (!mine) return;
    const p = held();
    delete state.m[ref];
    state.q = state.q.filter((op) => !unsent(op));
    if (pending) return;
    const op: Op = { k: uid(), op: "revoke", ck: mine.ck, s: set, c: content, t: now, p };
    state.q.push(op);
    return op;
  }
  if (mine) {
    if (pending) {
      mine.v = value;
      pending.b = body;
      return pending;
    }
    const p = held();
    mine.v = value;
    state.q = state.q.filter((op) => !(unsent(op) && op.op === "edit"));
    const op: Op = { k: uid(), op: "edit", ck: mine.ck, s: set, c: content, b: body, t: now, p };
    state.q.push(op);
    return op;
  }
  const k = uid();
  const op: Op = { k, op: "create", ck: k, s: set, c: content, b: body, t: now };
  state.m[ref] = { ck: k, v: value };
  state.q.push(op);
  return op;
}

/** The next operations to send, in order, stopping at one whose create is not acknowledged yet. */
export function ready(state: State): Op[] {
  const out: Op[] = [];
  for (const op of state.q) {
    if (out.length >= MAX_BATCH || (op.op !== "create" && !state.ids[op.ck])) break;
    out.push(op);
  }
  return out;
}

/** The body of one operation of POST /v1/batch. */
export function wire(state: State, op: Op): Body {
  const base: Body = { op: op.op, idempotency_key: op.k, occurred_at: new Date(op.t).toISOString() };
  if (op.op === "create") return { ...base, content_set: op.s, content_key: op.c, anonymous_id: state.a, ...op.b };
  const [signal_id, edit_token] = state.ids[op.ck];
  return { ...base, signal_id, edit_token, ...op.b };
}

export class Client {
  readonly store: Store;
  private listeners = new Map<string, Set<Listener>>();
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private busy = false;
  private waitUntil = 0;
  private hold = 0; // until when the server asked to wait (Retry-After)
  private reads = new Map<string, Map<string, ((stats: Stats | undefined) => void)[]>>();
  private configs = new Map<string, Promise<SetConfig | undefined>>();
  private fetch: typeof fetch;
  private now: () => number;
  private random: () => number;

  constructor(readonly options: Options) {
    this.store = new Store("feelback:" + options.key, options.storage);
    this.fetch = options.fetch || ((input, init) => fetch(input, init));
    this.now = options.now || Date.now;
    this.random = options.random || Math.random;
  }

  on(set: string, content: string, listener: Listener): () => void {
    const ref = refOf(set, content);
    const set_ = this.listeners.get(ref) || new Set();
    this.listeners.set(ref, set_.add(listener));
    return () => set_.delete(listener);
  }

  private emit(op: Op, kind: Kind, detail: Record<string, unknown>): void {
    const all = { content_set: op.s, content_key: op.c, ...detail };
    this.listeners.get(refOf(op.s, op.c))?.forEach((listener) => listener(kind, all));
  }

  /** What this visitor sent for a content: the value, and whether it can still be changed. */
  mine(set: string, content: string): { value: unknown; editable: boolean } | undefined {
    const state = this.store.load();
    const mine = state.m[refOf(set, content)];
    if (!mine) return;
    const ids = state.ids[mine.ck];
    const final = (ids && ids[1] === null) || (mine.until !== undefined && mine.until <= this.now());
    return { value: mine.v, editable: !final };
  }

  /** Record the visitor's value for a content (`body` is its wire form; null undoes it) and send it. */
  set(set: string, content: string, value: unknown, body: Body | null): void {
    this.store.tx((state) => enqueue(state, set, content, value, body, this.now()));
    this.flush();
  }

  pending(): number {
    return this.store.load().q.length;
  }

  /** Send what is queued now, unless a retry is scheduled. With `keepalive` (when the body allows), a
   * request survives the page going away, e.g. a click right before following a link. `leaving` (the
   * page is hidden or left): a network error's backoff is not waited out, since the page's timers may
   * never run again; a server's Retry-After still is. */
  async flush(leaving = false): Promise<void> {
    if (this.busy || this.now() < (leaving ? this.hold : this.waitUntil)) return;
    const ops = this.store.tx((state) => {
      const picked = ready(state);
      picked.forEach((op) => (op.sent = 1));
      return picked.map((op) => ({ op, body: wire(state, op) }));
    });
    if (!ops.length) return;
    this.busy = true;
    let retryAfter: string | null = null;
    let failed = true;
    try {
      const body = JSON.stringify({ operations: ops.map((one) => one.body) });
      const response = await this.fetch(this.options.endpoint + "/v1/batch", {
        method: "POST",
        headers: { "content-type": "application/json", "x-feelback-key": this.options.key },
        body,
        keepalive: body.length < KEEPALIVE_LIMIT,
      });
      retryAfter = response.headers.get("retry-after");
      if (response.ok) {
        const { results } = await response.json();
        retryAfter = this.settle(ops.map((one) => one.op), results);
        failed = retryAfter !== null;
      } else if (response.status !== 429 && response.status < 500) {
        // The whole request is refused (key, origin, size): retrying cannot help.
        const error = await refusal(response);
        this.settle(ops.map((one) => one.op), ops.map(() => ({ status: response.status, body: { error } })));
        failed = false;
      }
    } catch {
      // offline or the connection dropped: the answer may be lost, the same keys make the retry safe
    } finally {
      this.busy = false;
    }
    if (failed) {
      this.attempt++;
      const delay = backoff(this.attempt, retryAfter, this.random);
      this.hold = retryAfter ? this.now() + delay : 0;
      this.schedule(delay);
    } else {
      this.attempt = 0;
      this.waitUntil = this.hold = 0;
      if (this.pending() && ready(this.store.load()).length) this.flush();
    }
  }

  private schedule(delay: number): void {
    clearTimeout(this.timer);
    this.waitUntil = this.now() + delay;
    this.timer = setTimeout(() => {
      this.waitUntil = 0;
      this.flush();
    }, delay);
  }

  /** After a network error or a scheduled wait: try again now (e.g. the browser is back online). */
  retryNow(): void {
    clearTimeout(this.timer);
    this.waitUntil = 0;
    this.flush();
  }

  /** Apply the batch's per-operation results; returns the Retry-After to honour when some must wait. */
  private settle(ops: Op[], results: { status: number; body: any }[]): string | null {
    let wait: string | null = null;
    const events: [Op, Kind, Record<string, unknown>][] = [];
    this.store.tx((state) => {
      ops.forEach((op, index) => {
        const { status, body } = results[index];
        if (status === 429 || status >= 500) {
          wait = String(Math.max(Number(wait) || 0, body?.error?.retry_after || 1));
          return;
        }
        state.q = state.q.filter((queued) => queued.k !== op.k);
        const mine = Object.values(state.m).find((one) => one.ck === op.ck);
        if (status >= 300) {
          // refused for good (e.g. the edit window closed): forget it, and what depended on it
          const ref = refOf(op.s, op.c);
          state.q = state.q.filter((queued) => queued.ck !== op.ck);
          if (op.op === "create") {
            if (mine) delete state.m[ref];
          } else if (!state.m[ref] || mine) {
            // the server keeps the value it had; after signal_final it is final
            state.m[ref] = { ck: op.ck, v: op.p, until: body?.error?.code === "signal_final" ? 0 : mine?.until };
          }
          events.push([op, "failed", { status, error: body?.error }]);
          return;
        }
        if (op.op === "create") state.ids[op.ck] = [body.signal_id, body.edit_token];
        if (op.op === "revoke") delete state.ids[op.ck];
        else if (mine) mine.until = Date.parse(body.editable_until);
        events.push([op, op.op === "create" ? "sent" : op.op === "edit" ? "edited" : "revoked", { ...op.b, signal_id: body.signal_id }]);
      });
    });
    events.forEach(([op, kind, detail]) => this.emit(op, kind, detail));
    return wait;
  }

  /** Live stats of one content; reads asked for in the same moment share one batched request per set. */
  stats(set: string, content: string): Promise<Stats | undefined> {
    return new Promise((resolve) => {
      let pending = this.reads.get(set);
      if (!pending) {
        this.reads.set(set, (pending = new Map()));
        queueMicrotask(() => this.readStats(set)); // after the current task: every widget it connects joins
      }
      pending.set(content, [...(pending.get(content) || []), resolve]);
    });
  }

  private async readStats(set: string): Promise<void> {
    const pending = this.reads.get(set)!;
    this.reads.delete(set);
    const contents = [...pending.keys()];
    for (let start = 0; start < contents.length; start += MAX_BATCH) {
      const chunk = contents.slice(start, start + MAX_BATCH);
      let found: Record<string, Stats> = {};
      try {
        const response = await this.fetch(statsUrl(this.options.endpoint, this.options.key, set, chunk));
        if (response.ok) found = (await response.json()).contents;
      } catch {
        // counts are a nicety: the widget works without them
      }
      chunk.forEach((content) => pending.get(content)!.forEach((resolve) => resolve(found[content])));
    }
  }

  /** A content set's configuration (type, scale, reactions, form fields); the sets asked for in the same moment share one read. */
  config(set: string): Promise<SetConfig | undefined> {
    let known = this.configs.get(set);
    if (!known) {
      known = new Promise((resolve) => {
        if (!this.wanted) {
          this.wanted = new Map();
          queueMicrotask(() => this.readConfigs());
        }
        this.wanted.set(set, resolve);
      });
      this.configs.set(set, known);
    }
    return known;
  }

  private wanted: Map<string, (config: SetConfig | undefined) => void> | undefined;

  private async readConfigs(): Promise<void> {
    const wanted = this.wanted!;
    this.wanted = undefined;
    const query = [...wanted.keys()].map((set) => "&set=" + encodeURIComponent(set)).join("");
    let sets: Record<string, SetConfig> = {};
    try {
      const response = await this.fetch(`${this.options.endpoint}/v1/widget-config?key=${encodeURIComponent(this.options.key)}${query}`);
      if (response.ok) sets = (await response.json()).sets;
      else if (response.status !== 429 && response.status < 500) await refusal(response);
    } catch {
      // offline: a later widget asks again
    }
    wanted.forEach((resolve, set) => {
      if (!sets[set]) this.configs.delete(set);
      resolve(sets[set]);
    });
  }
}
