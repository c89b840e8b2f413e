import { useState } from "preact/hooks";
import { api } from "../api/client";
import { done, must } from "../api/errors";
import { can, me, signedInAs, type Role } from "../auth";
import { formatDate } from "../format";
import { useStore } from "../store";
import { Field, FormError, inputValue } from "../ui/forms";
import { useAction, useResource } from "../ui/resource";
import { Empty, Loaded, Notice, Table } from "../ui/states";

const ROLES: { role: Role; help: string }[] = [
  { role: "viewer", help: "reads everything, changes nothing" },
  { role: "member", help: "also edits content sets, triages the inbox, asks for exports" },
  { role: "admin", help: "also changes project settings and keys, and manages members" },
  { role: "owner", help: "also deletes projects and the organization" },
];

export function Members({ orgId }: { orgId: string }) {
  const person = useStore(me);
  const organization = person?.organizations.find((org) => org.id === orgId);
  const path = { org_id: orgId };
  const members = useResource(() => must(api.GET("/v1/organizations/{org_id}/members", { params: { path } })), [orgId]);
  const allowed = organization ? can.manageMembers(organization.role) : false;
  const invitations = useResource(
    () => (allowed ? must(api.GET("/v1/organizations/{org_id}/invitations", { params: { path } })) : Promise.resolve([])),
    [orgId, allowed],
  );
  const change = useAction();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [invited, setInvited] = useState<string | null>(null);
  const invite = useAction();

  async function setMemberRole(userId: string, next: Role) {
    if (await change.run(() => must(api.PATCH("/v1/organizations/{org_id}/members/{user_id}", { params: { path: { ...path, user_id: userId } }, body: { role: next } })))) {
      members.reload();
      if (userId === person?.user.id) signedInAs(await must(api.GET("/v1/me")));
    }
  }

  async function removeMember(userId: string, label: string) {
    if (!confirm(`Remove ${label} from ${organization?.name}? Their access ends at once.`)) return;
    const deleted = await change.run(() => done(api.DELETE("/v1/organizations/{org_id}/members/{user_id}", { params: { path: { ...path, user_id: userId } } })));
    if (deleted) members.reload();
  }

  async function sendInvitation(event: Event) {
    event.preventDefault();
    const sent = await invite.run(() => must(api.POST("/v1/organizations/{org_id}/invitations", { params: { path }, body: { email: email.trim(), role } })));
    if (sent) {
      setInvited(sent.email);
      setEmail("");
      invitations.reload();
    }
  }

  return (
    <main id="main" class="page">
      <h1>Members of {organization?.name ?? "the organization"}</h1>
      <ul class="muted">
        {ROLES.map((entry) => (
          <li key={entry.role}>
            <strong>{entry.role}</strong>: {entry.help}
          </li>
        ))}
      </ul>
      <FormError message={change.error} />
      <Loaded resource={members} what="members">
        {(list) => (
          <Table caption="Members" columns={["Person", "Role", "Joined", "Actions"]}>
                {list.map((member) => {
                  const label = member.name ? `${member.name} (${member.email})` : member.email;
                  return (
                    <tr key={member.user_id}>
                      <td>{label}</td>
                      <td>
                        {allowed ? (
                          <>
                            <label class="visually-hidden" for={`role-${member.user_id}`}>
                              Role of {label}
                            </label>
                            <select
                              id={`role-${member.user_id}`}
                              class="compact"
                              value={member.role}
                              onChange={(e) => setMemberRole(member.user_id, inputValue(e) as Role)}
                            >
                              {ROLES.map((entry) => (
                                <option key={entry.role} value={entry.role}>
                                  {entry.role}
                                </option>
                              ))}
                            </select>
                          </>
                        ) : (
                          member.role
                        )}
                      </td>
                      <td>{formatDate(member.joined_at)}</td>
                      <td>
                        {(allowed || member.user_id === person?.user.id) && (
                          <button type="button" class="danger small" onClick={() => removeMember(member.user_id, label)}>
                            {member.user_id === person?.user.id ? "Leave" : "Remove"}
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </Table>
        )}
      </Loaded>
      {allowed ? (
        <>
          <section class="card" aria-labelledby="invite-title">
            <h2 id="invite-title">Invite someone</h2>
            {invited && <Notice kind="success">Invitation sent to {invited}. The link works for 7 days.</Notice>}
            <form class="stack" onSubmit={sendInvitation}>
              <Field id="invite-email" label="E-mail">
                <input id="invite-email" type="email" required value={email} onInput={(e) => setEmail(inputValue(e))} />
              </Field>
              <Field id="invite-role" label="Role">
                <select id="invite-role" value={role} onChange={(e) => setRole(inputValue(e) as Role)}>
                  {ROLES.map((entry) => (
                    <option key={entry.role} value={entry.role}>
                      {entry.role} — {entry.help}
                    </option>
                  ))}
                </select>
              </Field>
              <FormError message={invite.error} />
              <div>
                <button type="submit" disabled={invite.busy || !email.trim()}>
                  Send invitation
                </button>
              </div>
            </form>
          </section>
          <Loaded resource={invitations} what="invitations">
            {(list) =>
              list.length === 0 ? (
                <Empty title="No invitations sent" />
              ) : (
                <section aria-labelledby="invitations-title">
                  <h2 id="invitations-title">Invitations</h2>
                  <ul>
                    {list.map((invitation) => (
                      <li key={invitation.id}>
                        {invitation.email} as {invitation.role} — {invitation.status}
                        {invitation.status === "open" && (
                          <>
                            {" "}
                            <button
                              type="button"
                              class="secondary small"
                              onClick={async () => {
                                await change.run(() =>
                                  must(api.DELETE("/v1/organizations/{org_id}/invitations/{invitation_id}", { params: { path: { ...path, invitation_id: invitation.id } } })),
                                );
                                invitations.reload();
                              }}
                            >
                              Withdraw
                            </button>
                          </>
                        )}
                      </li>
                    ))}
                  </ul>
                </section>
              )
            }
          </Loaded>
        </>
      ) : (
        <Notice>Only admins and owners invite people and change roles.</Notice>
      )}
    </main>
  );
}
