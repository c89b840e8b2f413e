import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import type { components } from "../api/schema";
import { can, type Role } from "../auth";
import { formatDateTime, plural } from "../format";
import { SHORTCUTS, filterSearch, readFilters, shortcut, sinceDays, tagChoices, type InboxFilters, type TriageState } from "../inbox";
import type { Project } from "../projects";
import { location$, projectHref, replaceQuery } from "../router";
import { useStore } from "../store";
import { useAction, useResource } from "../ui/resource";
import { Empty, ErrorBox, Loading, Notice } from "../ui/states";
import { InboxFilterBar } from "./InboxFilters";

type Signal = components["schemas"]["SignalOut"];
const PAGE = 50;
const STATE_LABEL: Record<TriageState, string> = { new: "New", read: "Read", archived: "Archived" };
const SENTIMENT_LABEL: Record<string, string> = { positive: "Positive", neutral: "Neutral", negative: "Negative" };

export function Inbox({ project, role }: { project: Project; role: Role }) {
  const path = { project_id: project.id };
  const allowed = can.triage(role);
  const address = useStore(location$);
  const search = address.includes("?") ? address.slice(address.indexOf("?")) : "";
  const filters = readFilters(search);
  const state = filters.state;
  const [items, setItems] = useState<Signal[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [focus, setFocus] = useState(0);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [announce, setAnnounce] = useState("");
  const searchBox = useRef<HTMLInputElement>(null);
  const triage = useAction();
  const more = useAction();

  const sets = useResource(() => must(api.GET("/v1/projects/{project_id}/content-sets", { params: { path } })), [project.id]);
  const messageSets = (sets.data ?? []).filter((set) => set.signal_type === "message");

  function setFilters(changes: Partial<InboxFilters>) {
    const next = { ...filters, ...changes };
    // Another form keeps only the chosen tags it has.
    if (changes.set !== undefined) next.tags = next.tags.filter((tag) => tagChoices(messageSets, next.set).includes(tag));
    replaceQuery(filterSearch(next));
  }

  function read(after: string | null) {
    return must(
      api.GET("/v1/projects/{project_id}/signals", {
        params: {
          path,
          query: {
            type: "message",
            triage: state || undefined,
            content_set: filters.set || undefined,
            content_key: filters.content || undefined,
            tag: filters.tags.length ? filters.tags : undefined,
            sentiment: filters.sentiment || undefined,
            since: sinceDays(filters.days),
            q: filters.q || undefined,
            limit: PAGE,
            cursor: after ?? undefined,
          },
        },
      }),
    );
  }

  const first = useResource(() => read(null), [project.id, filterSearch(filters)]);
  useEffect(() => {
    if (!first.data) return;
    setItems(first.data.signals);
    setCursor(first.data.next_cursor);
    setSelected(new Set());
    setFocus(0);
  }, [first.data]);

  async function loadMore() {
    const page = await more.run(() => read(cursor));
    if (page) {
      setItems((current) => [...current, ...page.signals]);
      setCursor(page.next_cursor);
    }
  }

  async function setTriage(ids: string[], next: TriageState) {
    if (!allowed || ids.length === 0) return;
    const done = await triage.run(() => must(api.POST("/v1/projects/{project_id}/signals/triage", { params: { path }, body: { signal_ids: ids, state: next } })));
    if (!done) return;
    const changed = new Set(ids);
    // Messages that leave the filtered state leave the list; the others show their new state.
    setItems((current) =>
      current.flatMap((item) => (!changed.has(item.signal_id) ? [item] : state && state !== next ? [] : [{ ...item, triage: next }])),
    );
    setSelected(new Set());
    setAnnounce(`${plural(ids.length, "message")} marked ${STATE_LABEL[next].toLowerCase()}.`);
  }

  // What the keys act on: the latest values, also when keys come faster than renders (x, j, x).
  const live = useRef({ items, focus, selected, allowed, setTriage });
  live.current = { items, focus, selected, allowed, setTriage };

  function toggle(id: string) {
    const next = new Set(live.current.selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    live.current.selected = next;
    setSelected(next);
  }

  useEffect(() => {
    function onKey(event: KeyboardEvent) {
      const target = event.target as HTMLElement;
      const inField = ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) || target.isContentEditable;
      const action = shortcut(event.key, inField, event.ctrlKey || event.metaKey || event.altKey);
      if (!action) return;
      const { items, focus, selected, allowed, setTriage } = live.current;
      const current = items[focus];
      if (action.kind === "move") {
        live.current.focus = Math.max(0, Math.min(items.length - 1, focus + action.by));
        setFocus(live.current.focus);
      } else if (action.kind === "search") {
        searchBox.current?.focus();
      } else if (!current || !allowed) {
        return;
      } else if (action.kind === "select") {
        toggle(current.signal_id);
      } else {
        void setTriage(selected.size ? [...selected] : [current.signal_id], action.state);
      }
      event.preventDefault();
    }
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    document.getElementById(`message-${items[focus]?.signal_id}`)?.scrollIntoView?.({ block: "nearest" });
  }, [focus, items]);

  if (sets.data && messageSets.length === 0) {
    return (
      <section>
        <h1>Inbox</h1>
        <Empty title="No feedback forms yet">
          <p>
            The inbox holds the written feedback of feedback-form content sets. <a href={projectHref(project.id, "sets")}>Create one</a>.
          </p>
        </Empty>
      </section>
    );
  }

  const selectedIds = [...selected];
  const caughtUp = filterSearch(filters) === "";
  return (
    <section aria-labelledby="inbox-title">
      <h1 id="inbox-title">Inbox</h1>
      <InboxFilterBar
        filters={filters}
        forms={messageSets}
        tags={tagChoices(messageSets, filters.set)}
        searchBox={searchBox}
        onChange={setFilters}
        onRefresh={first.reload}
      />

      {allowed ? (
        <div class="bulkbar" role="group" aria-label="Selected messages">
          <label class="inline">
            <input
              type="checkbox"
              checked={items.length > 0 && selected.size === items.length}
              onChange={(e) => setSelected((e.target as HTMLInputElement).checked ? new Set(items.map((item) => item.signal_id)) : new Set())}
            />
            Select all shown
          </label>
          <span class="muted">{selected.size ? `${selected.size} selected` : "Nothing selected"}</span>
          <button type="button" class="small" disabled={!selected.size || triage.busy} onClick={() => setTriage(selectedIds, "read")}>
            Mark read
          </button>
          <button type="button" class="small secondary" disabled={!selected.size || triage.busy} onClick={() => setTriage(selectedIds, "archived")}>
            Archive
          </button>
          <button type="button" class="small secondary" disabled={!selected.size || triage.busy} onClick={() => setTriage(selectedIds, "new")}>
            Move to new
          </button>
        </div>
      ) : (
        <Notice>Your role can read the inbox but not triage it.</Notice>
      )}
      <p class="visually-hidden" aria-live="polite">
        {announce}
      </p>
      {triage.error && <ErrorBox message={triage.error} />}

      {first.error ? (
        <ErrorBox message={first.error} retry={first.reload} />
      ) : first.loading && !first.data ? (
        <Loading what="messages" />
      ) : items.length === 0 ? (
        <Empty title={caughtUp ? "No new messages" : "No messages match"}>
          <p>{caughtUp ? "You are all caught up." : "Try other filters."}</p>
        </Empty>
      ) : (
        <ol class="inbox" aria-label="Messages">
          {items.map((item, index) => (
            <MessageItem
              key={item.signal_id}
              item={item}
              focused={index === focus}
              selected={selected.has(item.signal_id)}
              allowed={allowed}
              onSelect={() => toggle(item.signal_id)}
              onFocus={() => setFocus(index)}
              onTriage={(next) => setTriage([item.signal_id], next)}
            />
          ))}
        </ol>
      )}
      {cursor && (
        <button type="button" class="secondary" onClick={loadMore} disabled={more.busy}>
          {more.busy ? "Loading…" : "Show more"}
        </button>
      )}
      {more.error && <ErrorBox message={more.error} />}
      <details class="shortcuts">
        <summary>Keyboard shortcuts</summary>
        <ul>
          {SHORTCUTS.map((entry) => (
            <li key={entry.key}>
              <kbd>{entry.key}</kbd> {entry.does}
            </li>
          ))}
        </ul>
        <p class="help">With messages selected, r, a and u act on all of them.</p>
      </details>
    </section>
  );
}

function MessageItem({
  item,
  focused,
  selected,
  allowed,
  onSelect,
  onFocus,
  onTriage,
}: {
  item: Signal;
  focused: boolean;
  selected: boolean;
  allowed: boolean;
  onSelect: () => void;
  onFocus: () => void;
  onTriage: (state: TriageState) => void;
}) {
  const state = (item.triage ?? "new") as TriageState;
  const fields = Object.entries(item.form_fields);
  return (
    <li id={`message-${item.signal_id}`} class={`inbox-item ${state}`} aria-current={focused ? "true" : undefined} onClick={onFocus}>
      <div>
        {allowed && (
          <input type="checkbox" checked={selected} onChange={onSelect} aria-label={`Select the message of ${formatDateTime(item.created_at)}`} />
        )}
      </div>
      <div>
        <p class="muted small-text">
          <span class="badge">{STATE_LABEL[state]}</span>{" "}
          {item.sentiment && <span class={`badge sentiment-${item.sentiment}`}>{SENTIMENT_LABEL[item.sentiment]}</span>} {item.content_set} · <code>{item.content_key}</code> · {formatDateTime(item.created_at)}
        </p>
        <p class="message">{item.message || <em class="muted">(no text)</em>}</p>
        {item.tags.length > 0 && (
          <p class="tags">
            {item.tags.map((tag) => (
              <span class="badge" key={tag}>
                {tag}
              </span>
            ))}
          </p>
        )}
        {fields.length > 0 && (
          <dl class="form-fields">
            {fields.map(([name, value]) => (
              <div key={name}>
                <dt>{name}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
        )}
        <p class="muted small-text">Visitor {item.visitor_id}</p>
        {item.contact_email && (
          <p>
            Contact: <a href={`mailto:${item.contact_email}`}>{item.contact_email}</a>
          </p>
        )}
        {allowed && (
          <p class="row-actions">
            {state !== "read" && (
              <button type="button" class="small secondary" onClick={() => onTriage("read")}>
                Mark read
              </button>
            )}
            {state !== "archived" && (
              <button type="button" class="small secondary" onClick={() => onTriage("archived")}>
                Archive
              </button>
            )}
            {state !== "new" && (
              <button type="button" class="small secondary" onClick={() => onTriage("new")}>
                Move to new
              </button>
            )}
          </p>
        )}
      </div>
    </li>
  );
}
