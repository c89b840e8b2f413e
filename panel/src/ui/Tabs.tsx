import type { ComponentChildren } from "preact";

// Tabs as WAI-ARIA's tabs pattern: one tab stop for the list (the selected tab), the arrow keys, Home and
// End move to another tab and select it; the panel is labelled by the selected tab. The list and its panel
// are two components sharing an ``id``, so a toolbar may hold the list apart from the panel.

export interface Tab<T extends string> {
  name: T;
  label: string;
}

export const tabId = (id: string, name: string) => `${id}-tab-${name}`;
export const tabPanelId = (id: string) => `${id}-panel`;

const MOVES: Record<string, (index: number, count: number) => number> = {
  ArrowRight: (index, count) => (index + 1) % count,
  ArrowDown: (index, count) => (index + 1) % count,
  ArrowLeft: (index, count) => (index - 1 + count) % count,
  ArrowUp: (index, count) => (index - 1 + count) % count,
  Home: () => 0,
  End: (_, count) => count - 1,
};

export function TabList<T extends string>({
  id,
  label,
  tabs,
  selected,
  onSelect,
}: {
  id: string;
  label: string;
  tabs: readonly Tab<T>[];
  selected: T;
  onSelect: (name: T) => void;
}) {
  function onKeyDown(event: KeyboardEvent) {
    const move = MOVES[event.key];
    if (!move) return;
    event.preventDefault();
    const next = tabs[move(Math.max(0, tabs.findIndex((tab) => tab.name === selected)), tabs.length)];
    onSelect(next.name);
    document.getElementById(tabId(id, next.name))?.focus();
  }
  return (
    <div class="tabs" role="tablist" aria-label={label} onKeyDown={onKeyDown}>
      {tabs.map((tab) => (
        <button
          type="button"
          role="tab"
          key={tab.name}
          id={tabId(id, tab.name)}
          aria-selected={tab.name === selected}
          aria-controls={tabPanelId(id)}
          tabIndex={tab.name === selected ? 0 : -1}
          onClick={() => onSelect(tab.name)}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}

export function TabPanel({ id, selected, children }: { id: string; selected: string; children: ComponentChildren }) {
  return (
    <div role="tabpanel" id={tabPanelId(id)} aria-labelledby={tabId(id, selected)} tabIndex={0} class="tab-panel">
      {children}
    </div>
  );
}
