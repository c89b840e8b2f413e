// Light or dark by the page's own convention: data-theme="dark"|"light" or a .dark/.light class on the
// widget or an ancestor (the nearest wins, across shadow roots). Each widget shows it as its custom
// state (:state(dark) / :state(light)), which the stylesheet reads: `:host-context()` would be simpler,
// but Firefox does not support it, and an attribute on the host would be one a server-rendering
// framework did not render (React's hydration reports it). One observer for the whole document;
// without a mark, prefers-color-scheme decides.

export type Theme = "dark" | "light" | undefined;

const hosts = new Map<Element, (theme: Theme) => void>();
const MARKS = "[data-theme=dark],[data-theme=light],.dark,.light";
let observer: MutationObserver | undefined;

function themeOf(element: Element): Theme {
  for (let node: Element | undefined = element; node; node = (node.getRootNode() as ShadowRoot).host) {
    const found = node.closest(MARKS);
    if (found) return found.matches("[data-theme=dark],.dark:not([data-theme=light])") ? "dark" : "light";
  }
}

/** Tell `show` the element's theme now and whenever the page's marks change, while it is connected. */
export function followTheme(element: Element, show: (theme: Theme) => void): void {
  hosts.set(element, show);
  show(themeOf(element));
  if (!observer) {
    observer = new MutationObserver(() => hosts.forEach((showIt, host) => showIt(themeOf(host))));
    observer.observe(document.documentElement, { subtree: true, attributeFilter: ["class", "data-theme"] });
  }
}

export const unfollowTheme = (element: Element): boolean => hosts.delete(element);
