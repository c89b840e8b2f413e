// Light, dark, or the system's choice; kept in localStorage and applied as data-theme on <html>
// (the system's choice is followed live through matchMedia).
import { createStore } from "./store";

export type ThemeChoice = "system" | "light" | "dark";
const KEY = "feelback.theme";

function stored(): ThemeChoice {
  try {
    const value = localStorage.getItem(KEY);
    return value === "light" || value === "dark" ? value : "system";
  } catch {
    return "system";
  }
}

export const theme = createStore<ThemeChoice>(typeof localStorage === "undefined" ? "system" : stored());

/** The theme in effect ("light" or "dark"), for what draws its own colours (charts). */
export const shownTheme = createStore<"light" | "dark">("light");

export function applyTheme(choice: ThemeChoice): void {
  const dark = choice === "dark" || (choice === "system" && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.setAttribute("data-theme", dark ? "dark" : "light");
  shownTheme.set(dark ? "dark" : "light");
}

export function followSystemTheme(): void {
  applyTheme(theme.value);
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => applyTheme(theme.value));
}

export function setTheme(choice: ThemeChoice): void {
  try {
    if (choice === "system") localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, choice);
  } catch {
    /* private mode: the choice lasts for this page only */
  }
  applyTheme(choice);
  theme.set(choice);
}
