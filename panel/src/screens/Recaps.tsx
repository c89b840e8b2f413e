import { useState } from "preact/hooks";
import { api } from "../api/client";
import { must } from "../api/errors";
import type { components } from "../api/schema";
import { can, me, type Role } from "../auth";
import { formatDate } from "../format";
import type { Project } from "../projects";
import { useStore } from "../store";
import { Field, FormError, inputValue } from "../ui/forms";
import { useAction, useResource } from "../ui/resource";
import { Empty, Loaded, Notice } from "../ui/states";
import { RecapPreview } from "./RecapPreview";

type Frequency = components["schemas"]["RecapFrequency"];

export function Recaps({ project, role }: { project: Project; role: Role }) {
  const path = { project_id: project.id };
  const person = useStore(me);
  const subscriptions = useResource(() => must(api.GET("/v1/projects/{project_id}/recap-subscriptions", { params: { path } })), [project.id]);
  const [email, setEmail] = useState(person?.user.email ?? "");
  const [frequency, setFrequency] = useState<Frequency>("weekly");
  const change = useAction();
  const allowed = can.subscribe(role);

  async function subscribe(event: Event) {
    event.preventDefault();
    if (await change.run(() => must(api.POST("/v1/projects/{project_id}/recap-subscriptions", { params: { path }, body: { email: email.trim(), frequency } })))) {
      subscriptions.reload();
    }
  }

  async function unsubscribe(id: number) {
    if (await change.run(() => must(api.DELETE("/v1/projects/{project_id}/recap-subscriptions/{subscription_id}", { params: { path: { ...path, subscription_id: id } } })))) {
      subscriptions.reload();
    }
  }

  return (
    <section aria-labelledby="recaps-title">
      <h1 id="recaps-title">Recaps</h1>
      <p class="lead">
        A recap is an e-mail with the week's (Monday) or the month's (the 1st) numbers of {project.name}: signals, sentiment, the contents that moved
        most, and new messages.
      </p>
      <Loaded resource={subscriptions} what="subscriptions">
        {(list) =>
          list.length === 0 ? (
            <Empty title="Nobody gets recaps yet" />
          ) : (
            <ul>
              {list.map((subscription) => (
                <li key={subscription.id}>
                  {subscription.email} — {subscription.frequency}, since {formatDate(subscription.created_at)}{" "}
                  {allowed && (
                    <button type="button" class="secondary small" onClick={() => unsubscribe(subscription.id)}>
                      Unsubscribe {subscription.email} ({subscription.frequency})
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      {allowed ? (
        <form class="card filters" onSubmit={subscribe}>
          <Field id="recap-email" label="E-mail">
            <input id="recap-email" type="email" required value={email} onInput={(e) => setEmail(inputValue(e))} />
          </Field>
          <Field id="recap-frequency" label="How often">
            <select id="recap-frequency" value={frequency} onChange={(e) => setFrequency(inputValue(e) as Frequency)}>
              <option value="weekly">Weekly</option>
              <option value="monthly">Monthly</option>
            </select>
          </Field>
          <div>
            <button type="submit" disabled={change.busy}>
              Subscribe
            </button>
          </div>
        </form>
      ) : (
        <Notice>Your role cannot change who gets recaps.</Notice>
      )}
      <FormError message={change.error} />
      <RecapPreview project={project} />
    </section>
  );
}
