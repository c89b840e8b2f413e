// @vitest-environment happy-dom
import { h, render } from "preact";
import { useState } from "preact/hooks";
import { act } from "preact/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { TabList, TabPanel, type Tab } from "../src/ui/Tabs";

type Name = "weekly" | "monthly" | "yearly";
const TABS: Tab<Name>[] = [
  { name: "weekly", label: "Weekly" },
  { name: "monthly", label: "Monthly" },
  { name: "yearly", label: "Yearly" },
];

const root = document.createElement("div");
document.body.append(root);

function Probe() {
  const [selected, setSelected] = useState<Name>("weekly");
  return h("div", null, h(TabList<Name>, { id: "probe", label: "Which recap", tabs: TABS, selected, onSelect: setSelected }), h(TabPanel, { id: "probe", selected, children: `shown: ${selected}` }));
}

const tabs = () => [...root.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
const selectedLabel = () => tabs().find((tab) => tab.getAttribute("aria-selected") === "true")?.textContent;

async function press(key: string) {
  await act(() => {
    (document.activeElement ?? tabs()[0]).dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true }));
  });
}

afterEach(() => render(null, root));

describe("Tabs", () => {
  it("is a labelled tab list whose selected tab labels the panel it controls", async () => {
    await act(() => render(h(Probe, null), root));
    const list = root.querySelector('[role="tablist"]')!;
    expect(list.getAttribute("aria-label")).toBe("Which recap");
    expect(tabs().map((tab) => tab.textContent)).toEqual(["Weekly", "Monthly", "Yearly"]);
    expect(tabs().map((tab) => tab.getAttribute("aria-selected"))).toEqual(["true", "false", "false"]);
    const panel = root.querySelector('[role="tabpanel"]')!;
    expect(tabs().every((tab) => tab.getAttribute("aria-controls") === panel.id)).toBe(true);
    expect(panel.getAttribute("aria-labelledby")).toBe(tabs()[0].id);
    expect(panel.textContent).toBe("shown: weekly");
  });

  it("has one tab stop, the selected tab, and selects by click", async () => {
    await act(() => render(h(Probe, null), root));
    expect(tabs().map((tab) => tab.tabIndex)).toEqual([0, -1, -1]);
    await act(() => tabs()[1].click());
    expect(selectedLabel()).toBe("Monthly");
    expect(tabs().map((tab) => tab.tabIndex)).toEqual([-1, 0, -1]);
    expect(root.querySelector('[role="tabpanel"]')!.getAttribute("aria-labelledby")).toBe(tabs()[1].id);
  });

  it("moves and selects with the arrow keys (wrapping), Home and End, and follows with the focus", async () => {
    await act(() => render(h(Probe, null), root));
    tabs()[0].focus();
    await press("ArrowRight");
    expect(selectedLabel()).toBe("Monthly");
    expect(document.activeElement).toBe(tabs()[1]);
    await press("ArrowRight");
    await press("ArrowRight");
    expect(selectedLabel()).toBe("Weekly");
    await press("ArrowLeft");
    expect(selectedLabel()).toBe("Yearly");
    expect(document.activeElement).toBe(tabs()[2]);
    await press("Home");
    expect(selectedLabel()).toBe("Weekly");
    await press("End");
    expect(selectedLabel()).toBe("Yearly");
    await press("a");
    expect(selectedLabel()).toBe("Yearly");
    expect(root.querySelector('[role="tabpanel"]')!.textContent).toBe("shown: yearly");
  });
});
