// The chart library, in a chunk of its own: loaded with the first chart, not with the panel.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { components } from "../api/schema";
import { SERIES } from "./SentimentChart";

type Day = components["schemas"]["DayOut"];

function cssColor(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";
}

export function drawBars(host: HTMLElement, days: Day[], stacks: number[][]): uPlot {
  const positions = days.map((_, index) => index);
  const labels = days.map((day) => new Date(`${day.day}T12:00:00Z`).toLocaleDateString(undefined, { month: "short", day: "numeric", timeZone: "UTC" }));
  const bars = uPlot.paths.bars!({ size: [0.7, 40] });
  const text = cssColor("--muted");
  const grid = cssColor("--border");
  const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  // Drawn top of the stack first, so lower series paint over the taller bars behind them.
  const order = SERIES.map((_, index) => index).reverse();
  return new uPlot(
    {
      width: host.clientWidth || 300,
      height: 240,
      legend: { show: false },
      cursor: { show: true, points: { show: false } },
      scales: { x: { time: false, range: [-0.5, days.length - 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        { ...axis, space: 48, incrs: [1, 2, 7, 14, 30], values: (_u, splits) => splits.map((at) => labels[Math.round(at)] ?? "") },
        { ...axis, size: 40, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6] },
      ],
      series: [
        {},
        ...order.map((index) => ({
          label: SERIES[index].label,
          fill: cssColor(SERIES[index].color),
          stroke: cssColor(SERIES[index].color),
          paths: bars,
          points: { show: false },
        })),
      ],
    },
    [positions, ...order.map((index) => stacks[index])],
    host,
  );
}
