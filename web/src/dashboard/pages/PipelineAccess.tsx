import { useState, type FormEvent } from "react";
import { useQuery } from "urql";

import type { Permission } from "../../gql/graphql";
import { useAction } from "../actions";
import { Refusal } from "../components/Refusal";
import { titleCase } from "../format";
import { AutoJoinMutation, GrantAccessMutation, RevokeAccessMutation } from "../mutations";
import { PipelineAdminQuery } from "../operations";

const PERMISSIONS: Permission[] = ["VIEW", "DEPLOY", "OPERATE", "MANAGE"];

function PermissionBoxes({ value, onChange, legend }: { value: Permission[]; onChange: (p: Permission[]) => void; legend: string }) {
  return (
    <fieldset className="permissions">
      <legend>{legend}</legend>
      {PERMISSIONS.map((permission) => (
        <label key={permission} className="check">
          <input
            type="checkbox"
            checked={value.includes(permission)}
            onChange={() =>
              onChange(value.includes(permission) ? value.filter((p) => p !== permission) : [...value, permission])
            }
          />
          {titleCase(permission)}
        </label>
      ))}
    </fieldset>
  );
}

/** The access tab: who gets what on review and CI apps created from now on (grants and team auto-join). */
export function PipelineAccess({ name }: { name: string }) {
  const [{ data, error }, refetch] = useQuery({ query: PipelineAdminQuery, variables: { name } });
  const [email, setEmail] = useState("");
  const [permissions, setPermissions] = useState<Permission[]>(["VIEW", "DEPLOY"]);
  const grant = useAction(GrantAccessMutation);
  const revoke = useAction(RevokeAccessMutation);
  const autoJoin = useAction(AutoJoinMutation);
  if (error) return <p role="alert" className="refusal">{error.message}</p>;
  const pipeline = data?.pipeline;
  if (!pipeline) return <p>Loading…</p>;
  const access = pipeline.access;
  if (!access) {
    // Not the owner's nor in its team: what the tab lists is not theirs to see, but their own access is.
    const own = pipeline.viewerPermissions;
    return (
      <section className="panel" aria-labelledby="own-access">
        <h2 id="own-access">Your access to review and CI apps</h2>
        <p>
          {own.length
            ? `You were granted ${own.map(titleCase).join(", ")} on this pipeline's review and CI apps.`
            : "You hold no access to this pipeline's review and CI apps."}{" "}
          The rest of the access tab is for the pipeline's owner and the members of its team.
        </p>
      </section>
    );
  }
  const admin = pipeline.viewerRights.includes("ADMIN");
  const reload = () => refetch({ requestPolicy: "network-only" });
  async function submit(event: FormEvent) {
    event.preventDefault();
    if (await grant.run({ input: { pipeline: name, user: email, permissions } })) {
      setEmail("");
      reload();
    }
  }
  return (
    <div className="access">
      <section className="panel" aria-labelledby="grants">
        <h2 id="grants">Review and CI app access</h2>
        {access.grants.length === 0 && <p>No one has been granted access by hand.</p>}
        <ul>
          {access.grants.map((row) => (
            <li key={row.user.id}>
              {row.user.email}: {row.permissions.map(titleCase).join(", ")}{" "}
              {admin && (
                <button
                  type="button"
                  onClick={() => void revoke.run({ input: { pipeline: name, user: row.user.email } }).then((d) => d && reload())}
                >
                  Revoke {row.user.email}
                </button>
              )}
            </li>
          ))}
        </ul>
        <Refusal message={revoke.message} />
        {admin && (
          <form onSubmit={(event) => void submit(event)} className="inline-form">
            <label>
              Email
              <input type="email" value={email} onChange={(event) => setEmail(event.target.value)} required />
            </label>
            <PermissionBoxes value={permissions} onChange={setPermissions} legend="Permissions" />
            <button type="submit" disabled={grant.busy}>
              Grant access
            </button>
            <Refusal message={grant.message} />
          </form>
        )}
      </section>
      {pipeline.owner.__typename === "Team" && (
        <section className="panel" aria-labelledby="auto-join">
          <h2 id="auto-join">Auto-join for team members</h2>
          <p>
            Auto-join is <strong>{access.autoJoin ? "on" : "off"}</strong>
            {access.autoJoin && `: ${access.autoJoinPermissions.map(titleCase).join(", ")}`}.
          </p>
          {admin && (
            <button
              type="button"
              disabled={autoJoin.busy}
              onClick={() =>
                void autoJoin.run({ input: { pipeline: name, enabled: !access.autoJoin } }).then((d) => d && reload())
              }
            >
              Turn auto-join {access.autoJoin ? "off" : "on"}
            </button>
          )}
          <Refusal message={autoJoin.message} />
        </section>
      )}
    </div>
  );
}
