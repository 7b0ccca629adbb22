import { usePromotions } from "../components/Promotions";
import { ago, exact, shortCommit } from "../format";
import { Link } from "../router";

/** The pipeline's promotions, newest first: who promoted what, when, and how each target ended. */
export function PipelineHistory({ name }: { name: string }) {
  const { rows, error } = usePromotions(name);
  if (error) return <p role="alert" className="refusal">{error.message}</p>;
  if (!rows.length) return <p>No promotion yet.</p>;
  return (
    <table className="history">
      <caption>Promotions, newest first</caption>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">By</th>
          <th scope="col">From</th>
          <th scope="col">To</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={row.id}>
            <td>
              <time dateTime={row.createdAt} title={exact(row.createdAt)}>
                {ago(row.createdAt)}
              </time>
            </td>
            <td>{row.createdBy?.email ?? "—"}</td>
            <td>
              {row.source ? <Link to={`/apps/${encodeURIComponent(row.source.name)}`}>{row.source.name}</Link> : "—"}
              {row.sourceRelease && ` v${row.sourceRelease.version} (${shortCommit(row.sourceRelease.slug.commit)})`}
            </td>
            <td>
              <ul className="plain">
                {row.targets.map((target) => (
                  <li key={target.id}>
                    {target.app.name}{" "}
                    <span className={`status status-${target.status.toLowerCase()}`}>{target.status}</span>
                    {target.release && ` v${target.release.version}`}
                    {target.errorMessage && <span className="refusal"> {target.errorMessage}</span>}
                  </li>
                ))}
              </ul>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
