// The six widgets as custom elements. Each reads its content set's configuration and live counts,
// shows the visitor's own choice, and hands every change to the client's queue. Nothing here runs
// at import time outside a browser: `define()` registers the elements when called in one.
//
// Attributes: set (content set key), content ($path, $url or any key; default $path),
// counts="false" hides counts, key / endpoint override the page's defaults, data-locale, text-<name>.
// Events (bubbling, composed; detail: content_set, content_key, value fields, signal_id, error):
// feelback:sent, feelback:edited, feelback:revoked, feelback:failed; feelback:ready (no detail).
// The element never sets attributes on itself (a server-rendering framework owns them and checks
// them when it hydrates): it shows its states as custom states, :state(ready|dark|light).

import { Client, Counts, SetConfig } from "./client";
import { wordsFor } from "./i18n";
import { styleSheet } from "./styles";
import { Theme, followTheme, unfollowTheme } from "./theme";

const defaults: { key?: string; endpoint?: string } = {};
const clients = new Map<string, Client>();
const TAGS = ["feelback-yesno", "feelback-updown", "feelback-rating", "feelback-like", "feelback-reactions", "feelback-form"];

function localStore(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

export function clientFor(key: string, endpoint: string): Client {
  const id = endpoint + " " + key;
  let client = clients.get(id);
  if (!client) {
    clients.set(id, (client = new Client({ key, endpoint, storage: localStore() })));
    client.flush(); // what an earlier visit left in the queue
  }
  return client;
}

/** Set the page's default public key and API endpoint; widgets waiting for them start. */
export function configure(options: { key?: string; endpoint?: string }): void {
  Object.assign(defaults, options);
  if (typeof document !== "undefined")
    document.querySelectorAll<Widget>(TAGS.join()).forEach((element) => element.isConnected && element.connectedCallback?.());
}

const escape = (text: unknown) => String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

// A page enforcing Trusted Types (`require-trusted-types-for 'script'`) refuses plain strings as HTML;
// it lets the widgets write theirs through the policy named "feelback" when its CSP lists that name
// (`trusted-types feelback`). Every value in that HTML went through `escape` or is a fixed word.
let policy: { createHTML(html: string): string } | null | undefined;
function trusted(html: string): string {
  if (policy === undefined)
    try {
      policy = (globalThis as any).trustedTypes?.createPolicy("feelback", { createHTML: (html: string) => html }) || null;
    } catch {
      policy = null; // the page does not allow the name: its own policy (or none) decides
    }
  return policy ? policy.createHTML(html) : html;
}

const Base = (typeof HTMLElement === "undefined" ? class {} : HTMLElement) as typeof HTMLElement;

abstract class Widget extends Base {
  protected root = this.attachShadow({ mode: "open" });
  private internals = this.attachInternals?.(); // (Safari before 16.4 has none: then no states)
  protected client!: Client;
  // (no field is named like an attribute: React 19 would set such a property instead of the attribute)
  protected setKey = "";
  protected contentKey = "";
  protected config: SetConfig | undefined;
  protected tally: Counts = {};
  protected t!: ReturnType<typeof wordsFor>;
  private off: (() => void) | undefined;

  static observedAttributes = ["set", "content", "key", "endpoint"];

  attributeChangedCallback(): void {
    if (this.off) {
      this.disconnectedCallback();
      this.connectedCallback();
    }
  }

  connectedCallback(): void {
    followTheme(this, (theme: Theme) => {
      this.state("dark", theme === "dark");
      this.state("light", theme === "light");
    });
    const key = this.getAttribute("key") || defaults.key;
    if (this.off || !key) return;
    if (!/^[a-z0-9][a-z0-9_-]{0,39}$/.test(this.getAttribute("set") || "")) return console.warn("feelback: set must be a content set key", this);
    const content = this.getAttribute("content") || "$path";
    this.setKey = this.getAttribute("set") || "";
    this.contentKey = content === "$path" ? location.pathname : content === "$url" ? location.origin + location.pathname : content;
    this.client = clientFor(key, (this.getAttribute("endpoint") || defaults.endpoint || "").replace(/\/$/, ""));
    this.t = wordsFor(this);
    this.root.adoptedStyleSheets = [styleSheet()];
    this.off = this.client.on(this.setKey, this.contentKey, (kind, detail) => {
      this.dispatchEvent(new CustomEvent("feelback:" + kind, { detail, bubbles: true, composed: true }));
      if (kind === "failed") {
        this.say(this.t("failed"));
        this.load();
      } else this.refresh();
    });
    this.load();
  }

  disconnectedCallback(): void {
    unfollowTheme(this);
    this.off?.();
    this.off = undefined;
  }

  protected get showCounts(): boolean {
    return this.getAttribute("counts") !== "false";
  }

  protected count(): string {
    return this.showCounts ? "<span class=count part=count></span>" : "";
  }

  private loads = 0;

  private async load(): Promise<void> {
    const run = ++this.loads;
    const [config, stats] = await Promise.all([
      this.client.config(this.setKey),
      this.showCounts ? this.client.stats(this.setKey, this.contentKey) : undefined,
    ]);
    if (run !== this.loads) return; // the attributes changed meanwhile: a newer load renders
    this.config = config;
    this.tally = { ...stats?.counts };
    this.root.innerHTML = trusted(`<div class=row part=widget>${this.html()}</div><span class=sr role=status aria-live=polite></span>`);
    this.root.querySelectorAll("button[data-v]").forEach((button) =>
      button.addEventListener("click", () => this.choose((button as HTMLElement).dataset.v!, true)),
    );
    this.root.querySelector("[data-undo]")?.addEventListener("click", () => {
      this.choose(null);
      this.root.querySelector<HTMLElement>("input,textarea")?.focus(); // Undo hides itself: keep the focus in the widget
    });
    this.wire();
    this.refresh();
    this.state("ready", true);
    this.dispatchEvent(new CustomEvent("feelback:ready", { bubbles: true, composed: true }));
  }

  private state(name: string, on: boolean): void {
    try {
      on ? this.internals!.states.add(name) : this.internals!.states.delete(name);
    } catch {
      // (a browser from before 2024 has no custom states, or only --dashed ones: prefers-color-scheme decides)
    }
  }

  protected abstract html(): string;

  protected wire(): void {}

  /** The value's fields as POST /v1/signals takes them. */
  protected body(value: unknown): Record<string, unknown> {
    return { value };
  }

  protected mine() {
    return this.client.mine(this.setKey, this.contentKey);
  }

  /** The visitor picks `value` (null: undo); a toggle picked again is undone. */
  protected choose(value: unknown, toggle = false): void {
    const before = this.mine();
    if (before && !before.editable) return;
    if (toggle && before?.value === value) value = null;
    if (before && typeof before.value === "string") this.tally[before.value] = Math.max(0, (this.tally[before.value] || 0) - 1);
    if (typeof value === "string") this.tally[value] = (this.tally[value] || 0) + 1;
    this.client.set(this.setKey, this.contentKey, value, value === null ? null : this.body(value));
    this.say(this.t(value === null ? "removed" : "thanks"));
    this.refresh();
  }

  protected say(text: string): void {
    const live = this.root.querySelector("[role=status]");
    if (live) live.textContent = text;
  }

  /** Show the visitor's choice, the counts and whether it can still change, without rebuilding. */
  protected refresh(): void {
    const mine = this.mine();
    this.root.querySelectorAll<HTMLButtonElement>("button[data-v]").forEach((button) => {
      const value = button.dataset.v!;
      button.setAttribute("aria-pressed", String(mine?.value === value));
      button.disabled = !!mine && !mine.editable;
      const count = button.querySelector(".count");
      if (count) count.textContent = String(this.tally[value] || 0);
    });
    const undo = this.root.querySelector<HTMLElement>("[data-undo]");
    if (undo) undo.hidden = !mine?.editable;
  }
}

const toggle = (value: string, label: string, icon = "", hideLabel = false) =>
  `<button part=button data-v=${value}>${icon && `<span aria-hidden=true>${icon}</span>`}<span${hideLabel ? " class=sr" : ""}>${escape(label)}</span>`;

class YesNo extends Widget {
  protected html(): string {
    return `<span part=label>${escape(this.t("question"))}</span>${toggle("yes", this.t("yes"))}${this.count()}</button>${toggle("no", this.t("no"))}${this.count()}</button>`;
  }
}

class UpDown extends Widget {
  protected html(): string {
    return `${toggle("up", this.t("up"), "▲", true)}${this.count()}</button>${toggle("down", this.t("down"), "▼", true)}${this.count()}</button>`;
  }
}

class Like extends Widget {
  protected html(): string {
    return `${toggle("like", this.t("like"), "♥")}${this.count()}</button>`;
  }

  protected body(): Record<string, unknown> {
    return { value: 1 };
  }
}

class Reactions extends Widget {
  protected html(): string {
    const reactions: { key: string; emoji: string }[] = this.config?.config.reactions || [];
    return `<div role=group class=row aria-label="${escape(this.t("reactions"))}">${reactions
      .map((reaction) => `${toggle(reaction.key, reaction.key.replace(/_/g, " "), escape(reaction.emoji), true)}${this.count()}</button>`)
      .join("")}</div>`;
  }
}

class Rating extends Widget {
  private get size(): number {
    return this.config?.config.scale || Number(this.getAttribute("scale")) || 5;
  }

  protected html(): string {
    let stars = "";
    for (let n = 1; n <= this.size; n++)
      stars += `<label class=star><input type=radio name=r value=${n}><span aria-hidden=true>★</span><span class=sr>${escape(this.t("star", { n, m: this.size }))}</span></label>`;
    return `<fieldset part=rating><legend>${escape(this.t("rate"))}</legend>${stars}</fieldset>${
      this.showCounts ? "<span class='count muted' part=count></span>" : ""
    }<button part=undo data-undo hidden>${escape(this.t("undo"))}</button>`;
  }

  protected wire(): void {
    this.root.querySelectorAll("input").forEach((input) => input.addEventListener("change", () => this.choose(input.value)));
  }

  protected body(value: unknown): Record<string, unknown> {
    return { value: Number(value) };
  }

  protected refresh(): void {
    super.refresh();
    const mine = this.mine();
    const chosen = Number(mine?.value) || 0;
    this.root.querySelectorAll<HTMLInputElement>("input").forEach((input) => {
      input.checked = Number(input.value) === chosen;
      input.disabled = !!mine && !mine.editable;
      input.parentElement!.classList.toggle("on", Number(input.value) <= chosen);
    });
    const shown = this.root.querySelector(".count");
    let total = 0;
    let sum = 0;
    for (const [value, times] of Object.entries(this.tally)) {
      total += times;
      sum += Number(value) * times;
    }
    if (shown) shown.textContent = total ? this.t("average", { a: (sum / total).toFixed(1), m: this.size, n: total }) : "";
  }
}

class Form extends Widget {
  protected html(): string {
    const config = this.config?.config || {};
    const tags: string[] = config.tags || [];
    const fields: { name: string; label: string; required: boolean; max_length: number }[] = config.form_fields || [];
    const input = (name: string, label: string, extra = "") => `<label>${escape(label)}<input name="${name}"${extra}></label>`;
    return `<form part=form><label>${escape(this.t("message"))}<textarea name=message required rows=3 maxlength=${config.max_length || 5000}></textarea></label>${
      tags.length
        ? `<label>${escape(this.t("topic"))}<select name=tag><option value=""></option>${tags.map((tag) => `<option>${escape(tag)}</option>`).join("")}</select></label>`
        : ""
    }${fields.map((field) => input("f-" + field.name, field.label || field.name, ` maxlength=${field.max_length}${field.required ? " required" : ""}`)).join("")}${input(
      "email",
      this.t("email"),
      " type=email autocomplete=email",
    )}<div class=row><button part=button type=submit>${escape(this.t("send"))}</button><button part=undo type=button data-undo hidden>${escape(this.t("undo"))}</button></div></form>`;
  }

  private get form(): HTMLFormElement {
    return this.root.querySelector("form")!;
  }

  protected wire(): void {
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const data = new FormData(this.form);
      const value: Record<string, unknown> = { message: data.get("message") };
      const fields: Record<string, unknown> = {};
      data.forEach((field, name) => {
        if (field && name.startsWith("f-")) fields[name.slice(2)] = field;
      });
      if (data.get("tag")) value.tags = [data.get("tag")];
      if (data.get("email")) value.contact_email = data.get("email");
      if (Object.keys(fields).length) value.form_fields = fields;
      this.choose(value);
    });
    const value = this.mine()?.value as Record<string, any> | undefined;
    if (value) {
      const elements = this.form.elements as any;
      elements.message.value = value.message;
      if (value.tags && elements.tag) elements.tag.value = value.tags[0];
      if (value.contact_email) elements.email.value = value.contact_email;
      for (const [name, field] of Object.entries(value.form_fields || {})) if (elements["f-" + name]) elements["f-" + name].value = field;
    }
  }

  protected body(value: unknown): Record<string, unknown> {
    return value as Record<string, unknown>;
  }

  protected choose(value: unknown): void {
    super.choose(value);
    if (value === null) this.form.reset();
  }

  protected refresh(): void {
    super.refresh();
    const mine = this.mine();
    this.form.querySelectorAll<HTMLInputElement>("input,textarea,select,button[type=submit]").forEach((input) => (input.disabled = !!mine && !mine.editable));
  }
}

const ELEMENTS = [YesNo, UpDown, Rating, Like, Reactions, Form];

let listening = false;

/** Register the six elements (in a browser; a no-op on a server) and send the queue when the page allows. */
export function define(): void {
  if (typeof customElements === "undefined" || typeof window === "undefined") return;
  TAGS.forEach((tag, index) => customElements.get(tag) || customElements.define(tag, ELEMENTS[index] as any));
  if (listening) return;
  listening = true;
  const leaving = () => clients.forEach((client) => client.flush(true));
  addEventListener("online", () => clients.forEach((client) => client.retryNow()));
  addEventListener("pagehide", leaving);
  document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && leaving());
}
