// Numbers and dates as people read them.
export function formatDate(iso: string): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

export function formatDateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function formatNumber(value: number): string {
  return new Intl.NumberFormat().format(value);
}

/** The change from ``previous`` to ``current`` in words and a sign: "+25%", "−10%", "new", "no change". */
export function change(current: number, previous: number): { text: string; direction: "up" | "down" | "flat" } {
  if (current === previous) return { text: "no change", direction: "flat" };
  if (previous === 0) return { text: "new", direction: "up" };
  const percent = Math.round(((current - previous) / previous) * 100);
  if (percent === 0) return { text: current > previous ? "+<1%" : "−<1%", direction: current > previous ? "up" : "down" };
  return percent > 0 ? { text: `+${percent}%`, direction: "up" } : { text: `−${Math.abs(percent)}%`, direction: "down" };
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatNumber(count)} ${count === 1 ? one : many}`;
}
