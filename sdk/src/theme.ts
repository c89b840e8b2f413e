// Light or dark by the page's own convention: data-theme="dark"|"light" or a .dark/.light class on the
// widget or an ancestor (the nearest wins, across shadow roots). The widget's host gets it as its
// `theme` attribute, which the stylesheet reads: `:host-context()` would be simpler, but Firefox does
// not support it. One observer for the whole document; without a mark, prefers-color-scheme decides.

const hosts = new Set<Element>();
const MARKS = "[data-theme=dark],[data-theme=light],.dark,.light";
let observer: MutationObserver | undefined;

function themeOf(element: Element): string | undefined {
  for (let node: Element | undefined = element; node; node = (node.getRootNode() as ShadowRoot).host) {
    const found = node.closest(MARKS);
    if (found) return found.matches("[data-theme=dark],.dark:not([data-theme=light])") ? "dark" : "light";
  }
}

function apply(element: Element): void {
  const theme = themeOf(element);
  if (element.getAttribute("theme") === theme) return;
  theme ? element.setAttribute("theme", theme) : element.removeAttribute("theme");
}

/** Keep the element's `theme` attribute in step with the page's marks while it is connected. */
export function followTheme(element: Element): void {
  hosts.add(element);
  apply(element);
  if (!observer) {
    observer = new MutationObserver(() => hosts.forEach(apply));
    observer.observe(document.documentElement, { subtree: true, attributeFilter: ["class", "data-theme"] });
  }
}

export const unfollowTheme = (element: Element): boolean => hosts.delete(element);
