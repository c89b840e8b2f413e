// Signals per day by sentiment, as stacked bars (uPlot, loaded only when a chart is shown), with
// the same numbers in a table for screen readers.
import { useEffect, useRef } from "preact/hooks";
import type { components } from "../api/schema";
import { formatDate } from "../format";

type Day = components["schemas"]["DayOut"];

export const SERIES = [
  { key: "positive", label: "Positive", color: "--positive" },
  { key: "neutral", label: "Neutral", color: "--neutral" },
  { key: "negative", label: "Negative", color: "--negative" },
  { key: "unscored", label: "Not scored yet", color: "--unscored" },
] as const;

/** Cumulative sums, bottom series first, so each bar is drawn over the ones below it. */
export function stacked(days: Day[]): number[][] {
  let running = days.map(() => 0);
  return SERIES.map((series) => {
    running = running.map((sum, index) => sum + days[index][series.key]);
    return running;
  });
}

export function SentimentChart({ days, theme }: { days: Day[]; theme: string }) {
  const host = useRef<HTMLDivElement>(null);
  const numbers = JSON.stringify(days); // redraw when the numbers change, not on every read

  useEffect(() => {
    let chart: { destroy(): void; setSize(size: { width: number; height: number }): void } | null = null;
    let observer: ResizeObserver | null = null;
    let cancelled = false;
    import("./uplot").then(({ drawBars }) => {
      if (cancelled || !host.current) return;
      chart = drawBars(host.current, days, stacked(days));
      observer = new ResizeObserver(() => chart?.setSize({ width: host.current?.clientWidth ?? 300, height: 240 }));
      observer.observe(host.current);
    });
    return () => {
      cancelled = true;
      observer?.disconnect();
      chart?.destroy();
    };
  }, [numbers, theme]);

  return (
    <figure class="chart-figure">
      <figcaption>Signals per day by sentiment</figcaption>
      <div class="legend" aria-hidden="true">
        {SERIES.map((series) => (
          <span key={series.key}>
            <span class="swatch" style={{ background: `var(${series.color})` }} />
            {series.label}
          </span>
        ))}
      </div>
      <div ref={host} class="chart" aria-hidden="true" />
      <details>
        <summary>The numbers per day</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Day</th>
                {SERIES.map((series) => (
                  <th scope="col" key={series.key}>
                    {series.label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {days.map((day) => (
                <tr key={day.day}>
                  <th scope="row">{formatDate(day.day)}</th>
                  {SERIES.map((series) => (
                    <td key={series.key}>{day[series.key]}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
