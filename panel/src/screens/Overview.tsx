import { useEffect, useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import type { components } from "../api/schema";
import { typeLabel } from "../contentSets";
import { change, formatDate, formatNumber, plural } from "../format";
import type { Project } from "../projects";
import { contentHref, projectHref } from "../router";
import { useStore } from "../store";
import { shownTheme } from "../theme";
import { useResource } from "../ui/resource";
import { SentimentChart } from "../ui/SentimentChart";
import { Empty, ErrorBox, Loading } from "../ui/states";
import { TabList, TabPanel, type Tab } from "../ui/Tabs";

type OverviewOut = components["schemas"]["OverviewOut"];
type SetOverview = components["schemas"]["SetOverviewOut"];
type Ranked = components["schemas"]["RankedContent"];
type WindowName = "7d" | "30d" | "90d" | "week" | "month" | "year";

const WINDOWS: Tab<WindowName>[] = [
  { name: "7d", label: "7 days" },
  { name: "30d", label: "30 days" },
  { name: "90d", label: "90 days" },
  { name: "week", label: "This week" },
  { name: "month", label: "This month" },
  { name: "year", label: "This year" },
];
const REFRESH_MS = 5000;

export function Overview({ project, content }: { project: Project; content?: { set: string; key: string } }) {
  const [window, setWindow] = useState<WindowName>("7d");
  const [chosenSet, setContentSet] = useState("");
  const contentSet = content?.set ?? chosenSet;
  const [tick, setTick] = useState(0);
  const chosenTheme = useStore(shownTheme);
  const sets = useResource(
    () => must(api.GET("/v1/projects/{project_id}/content-sets", { params: { path: { project_id: project.id } } })),
    [project.id],
  );
  const overview = useResource(
    () =>
      must(
        api.GET("/v1/projects/{project_id}/overview", {
          params: { path: { project_id: project.id }, query: { window, content_set: contentSet || undefined, content_key: content?.key } },
        }),
      ),
    [project.id, window, contentSet, content?.key, tick],
  );

  // Fresh within seconds: read again while the page is visible.
  useEffect(() => {
    const timer = setInterval(() => {
      if (document.visibilityState === "visible") setTick((value) => value + 1);
    }, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  if (sets.data && sets.data.length === 0) {
    return (
      <section>
        <h1>Overview</h1>
        <Empty title="Nothing to show yet">
          <p>
            Feedback is collected in content sets. <a href={projectHref(project.id, "sets")}>Create your first content set</a>, then{" "}
            <a href={projectHref(project.id, "install")}>put its widget on a page</a>.
          </p>
        </Empty>
      </section>
    );
  }

  const data = overview.data;
  return (
    <section aria-labelledby="overview-title">
      {content && (
        <p>
          <a href={projectHref(project.id, "overview")}>← Overview</a>
        </p>
      )}
      <h1 id="overview-title">
        {content ? (
          <>
            <code>{content.key}</code> in {content.set}
          </>
        ) : (
          "Overview"
        )}
      </h1>
      <div class="toolbar">
        <TabList id="overview-period" label="Period" tabs={WINDOWS} selected={window} onSelect={setWindow} />
        <div hidden={Boolean(content)}>
          <label for="overview-set" class="visually-hidden">
            Content set
          </label>
          <select id="overview-set" class="compact" value={contentSet} onChange={(e) => setContentSet((e.target as HTMLSelectElement).value)}>
            <option value="">All content sets</option>
            {(sets.data ?? []).map((set) => (
              <option key={set.key} value={set.key}>
                {set.name || set.key}
              </option>
            ))}
          </select>
        </div>
      </div>
      <TabPanel id="overview-period" selected={window}>
        {overview.error && !data ? (
          <ErrorBox message={overview.error} retry={overview.reload} />
        ) : !data ? (
          <Loading what="the overview" />
        ) : (
          <OverviewBody data={data} project={project} theme={chosenTheme} stale={overview.error} />
        )}
      </TabPanel>
    </section>
  );
}

function OverviewBody({ data, project, theme, stale }: { data: OverviewOut; project: Project; theme: string; stale: string | null }) {
  const totals = data.totals;
  return (
    <>
      <p class="muted" aria-live="polite">
        {formatDate(data.window.start ?? "")} – {formatDate(data.window.end)} ({data.window.timezone}), compared with {formatDate(data.previous.start)} –{" "}
        {formatDate(data.previous.end)}.
      </p>
      {stale && <ErrorBox message={`Showing the last numbers read: ${stale}`} />}
      <div class="kpis">
        <Kpi label="Signals" value={formatNumber(totals.signals)} current={totals.signals} previous={totals.previous_signals} testId="kpi-signals" />
        <Kpi
          label="Sentiment"
          value={totals.score === null ? "—" : totals.score.toFixed(2)}
          current={totals.score ?? 0}
          previous={totals.previous_score ?? 0}
          hint="From −1 (all negative) to +1 (all positive)"
        />
        {data.sets
          .filter((set) => set.average !== null)
          .map((set) => (
            <Kpi
              key={set.content_set}
              label={`Average rating, ${set.name || set.content_set}`}
              value={`${set.average!.toFixed(2)} / ${set.rating_scale}`}
              current={set.average!}
              previous={set.previous_average ?? 0}
            />
          ))}
      </div>
      {totals.signals === 0 ? (
        <Empty title="No signals in this period">
          <p>
            Once visitors use the widgets, their signals show here within seconds. <a href={projectHref(project.id, "install")}>Install the widgets</a>.
          </p>
        </Empty>
      ) : (
        <SentimentChart days={data.days} theme={theme} />
      )}
      {data.sets
        .filter((set) => set.total > 0 || set.previous_total > 0)
        .map((set) => (
          <SetCard key={set.content_set} set={set} projectId={project.id} />
        ))}
      <Quiet sets={data.sets.filter((set) => set.total === 0 && set.previous_total === 0)} />
    </>
  );
}

function Quiet({ sets }: { sets: SetOverview[] }) {
  if (sets.length === 0) return null;
  return (
    <p class="muted">
      No signals in this period or the one before: {sets.map((set) => set.name || set.content_set).join(", ")}.
    </p>
  );
}

function Kpi({ label, value, current, previous, hint, testId }: { label: string; value: string; current: number; previous: number; hint?: string; testId?: string }) {
  const moved = change(current, previous);
  return (
    <div class="kpi" data-testid={testId}>
      <p class="kpi-label">{label}</p>
      <p class="kpi-value">{value}</p>
      <p class={`kpi-change ${moved.direction}`}>
        {moved.text} <span class="visually-hidden">against the previous period</span>
      </p>
      {hint && <p class="help">{hint}</p>}
    </div>
  );
}

function SetCard({ set, projectId }: { set: SetOverview; projectId: string }) {
  const link = (key: string) => contentHref(projectId, set.content_set, key);
  const counts = Object.entries(set.counts);
  const highest = Math.max(1, ...counts.map(([, count]) => count));
  return (
    <section class="card" aria-labelledby={`set-${set.content_set}`}>
      <h2 id={`set-${set.content_set}`}>
        {set.name || set.content_set} <span class="badge">{typeLabel(set.signal_type)}</span>
      </h2>
      <p>
        {plural(set.total, "signal")} <span class={change(set.total, set.previous_total).direction}>({change(set.total, set.previous_total).text})</span>
      </p>
      {counts.length > 0 && (
        <div class="distribution" role="list" aria-label={`Values of ${set.name || set.content_set}`}>
          {counts.map(([value, count]) => (
            <div class="bar" role="listitem" key={value}>
              <span class="bar-label">{value}</span>
              <span class="bar-track" aria-hidden="true">
                <span class="bar-fill" style={{ width: `${(count / highest) * 100}%` }} />
              </span>
              <span class="bar-count">{formatNumber(count)}</span>
            </div>
          ))}
        </div>
      )}
      {set.top.length > 0 && (
        <div class="grid-2">
          <Ranking title="Most signals" items={set.top} link={link} />
          {set.best.length > 0 && <Ranking title="Best sentiment" items={set.best} link={link} />}
          {set.worst.length > 0 && <Ranking title="Worst sentiment" items={set.worst} link={link} />}
          {set.movers.length > 0 && (
            <div>
              <h3>Biggest movers</h3>
              <ol class="ranking">
                {set.movers.map((mover) => (
                  <li key={mover.content_key}>
                    <a href={link(mover.content_key)}>
                      <code>{mover.content_key}</code>
                    </a>{" "}
                    — {formatNumber(mover.previous_total)} → {formatNumber(mover.total)}
                  </li>
                ))}
              </ol>
            </div>
          )}
        </div>
      )}
    </section>
  );
}

function Ranking({ title, items, link }: { title: string; items: Ranked[]; link: (key: string) => string }) {
  return (
    <div>
      <h3>{title}</h3>
      <ol class="ranking">
        {items.map((item) => (
          <li key={item.content_key}>
            <a href={link(item.content_key)}>
              <code>{item.content_key}</code>
            </a>{" "}
            — {formatNumber(item.total)}
            {item.sentiment.score !== null && <span class="muted"> · sentiment {item.sentiment.score.toFixed(2)}</span>}
          </li>
        ))}
      </ol>
    </div>
  );
}
