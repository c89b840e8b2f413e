// What the client keeps per project key: the queue of operations not yet acknowledged, what this
// visitor sent per content (so a widget shows it on reload), the signal ids and edit tokens of
// acknowledged creates, and the visitor's anonymous id. Kept in localStorage, in memory when
// storage is blocked (private modes, sandboxed iframes, quotas).

export type Body = Record<string, unknown>;

export interface Op {
  k: string; // idempotency key, the same on every retry
  op: "create" | "edit" | "revoke";
  ck: string; // idempotency key of the create this operation is about
  s: string; // content set
  c: string; // content key
  b?: Body; // value fields
  t: number; // when the visitor acted (ms)
  sent?: 1; // sent at least once: the server may have it, so never rewrite it
  p?: unknown; // edit and revoke: the value the server has meanwhile (shown again if refused)
}

export interface Mine {
  ck: string;
  v: unknown; // the visitor's current value (widget form)
  until?: number; // end of the edit window (ms), known once acknowledged
}

export interface State {
  q: Op[];
  m: Record<string, Mine>;
  ids: Record<string, [string, string | null]>; // create key -> [signal id, edit token]
  a: string; // anonymous visitor id
}

export const uid = (): string =>
  typeof crypto !== "undefined" && crypto.randomUUID
    ? crypto.randomUUID()
    : Date.now().toString(36) + Math.random().toString(36).slice(2) + Math.random().toString(36).slice(2);

export interface Storage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export class Store {
  private mem: State | undefined;

  constructor(private name: string, private storage?: Storage) {}

  load(): State {
    try {
      const text = this.storage?.getItem(this.name);
      if (text) return JSON.parse(text) as State;
    } catch {
      // blocked or corrupt storage: keep going in memory
    }
    return (this.mem ||= { q: [], m: {}, ids: {}, a: uid() });
  }

  save(state: State): void {
    this.mem = state;
    try {
      this.storage?.setItem(this.name, JSON.stringify(state));
    } catch {
      this.storage = undefined; // quota or blocked: memory from now on
    }
  }

  /** Read, change and write the state in one step (other tabs share it through storage). */
  tx<T>(change: (state: State) => T): T {
    const state = this.load();
    const result = change(state);
    this.save(state);
    return result;
  }
}
