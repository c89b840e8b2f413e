import type { Ref } from "preact";
import { useEffect, useState } from "preact/hooks";
import { DAY_CHOICES, type InboxFilters, type Sentiment, type TriageState } from "../inbox";
import { checked, ContentSetSelect, inputValue } from "../ui/forms";

const DAY_LABEL: Record<number, string> = { 0: "Any time", 1: "Last 24 hours", 7: "Last 7 days", 30: "Last 30 days", 90: "Last 90 days" };

/** The inbox's filter bar. Choices apply at once; the texts (content key, search) when the form is sent. */
export function InboxFilterBar({
  filters,
  forms,
  tags,
  searchBox,
  onChange,
  onRefresh,
}: {
  filters: InboxFilters;
  forms: { key: string; name: string }[];
  tags: string[];
  searchBox: Ref<HTMLInputElement>;
  onChange: (changes: Partial<InboxFilters>) => void;
  onRefresh: () => void;
}) {
  const [search, setSearch] = useState(filters.q);
  const [content, setContent] = useState(filters.content);
  useEffect(() => setSearch(filters.q), [filters.q]);
  useEffect(() => setContent(filters.content), [filters.content]);

  function toggleTag(tag: string, on: boolean) {
    onChange({ tags: on ? [...filters.tags, tag] : filters.tags.filter((chosen) => chosen !== tag) });
  }

  return (
    <form
      class="filters"
      role="search"
      aria-label="Filter messages"
      onSubmit={(event) => {
        event.preventDefault();
        onChange({ q: search.trim(), content: content.trim() });
      }}
    >
      <div>
        <label for="inbox-state">State</label>
        <select id="inbox-state" value={filters.state} onChange={(e) => onChange({ state: inputValue(e) as TriageState | "" })}>
          <option value="new">New</option>
          <option value="read">Read</option>
          <option value="archived">Archived</option>
          <option value="">Any state</option>
        </select>
      </div>
      <ContentSetSelect id="inbox-set" sets={forms} value={filters.set} onChange={(set) => onChange({ set })} any="All forms" />
      <div>
        <label for="inbox-sentiment">Sentiment</label>
        <select
          id="inbox-sentiment"
          value={filters.sentiment}
          aria-describedby="inbox-sentiment-help"
          onChange={(e) => onChange({ sentiment: inputValue(e) as Sentiment | "" })}
        >
          <option value="">Any sentiment</option>
          <option value="positive">Positive</option>
          <option value="neutral">Neutral</option>
          <option value="negative">Negative</option>
        </select>
      </div>
      <div>
        <label for="inbox-days">Received</label>
        <select id="inbox-days" value={String(filters.days)} onChange={(e) => onChange({ days: Number(inputValue(e)) })}>
          {DAY_CHOICES.map((days) => (
            <option key={days} value={String(days)}>
              {DAY_LABEL[days]}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label for="inbox-content">Content key</label>
        <input id="inbox-content" type="text" value={content} maxLength={500} placeholder="/pricing" onInput={(e) => setContent(inputValue(e))} />
      </div>
      <div>
        <label for="inbox-search">Text</label>
        <input id="inbox-search" ref={searchBox} type="search" value={search} maxLength={200} onInput={(e) => setSearch(inputValue(e))} />
      </div>
      <div class="row-actions">
        <button type="submit" class="secondary">
          Search
        </button>
        <button type="button" class="secondary" onClick={onRefresh}>
          Refresh
        </button>
      </div>
      {tags.length > 0 && (
        <fieldset class="tag-filter">
          <legend>Tags (messages with any of those checked)</legend>
          {tags.map((tag) => (
            <label class="inline" key={tag}>
              <input type="checkbox" checked={filters.tags.includes(tag)} onChange={(e) => toggleTag(tag, checked(e))} />
              {tag}
            </label>
          ))}
        </fieldset>
      )}
      <p class="help filters-help" id="inbox-sentiment-help">
        A message gets its sentiment when the nightly build scores its text; until then it matches no sentiment.
      </p>
    </form>
  );
}
