import { useRefetchOnNews } from "../news";
import { ReviewAppEventsSubscription } from "../operations";
import type { ReviewAppSummary } from "../pipeline";
import { Link } from "../router";

type Props = { pipeline: string; apps: ReviewAppSummary[]; onChange: () => void };

/** The review apps of the pipeline's pull requests that have no card in the review column (yet, or any more): PR
 * number, branch, status and why it errored. The others show their pull request on their card. The overview is read
 * again when one changes (`pipelineEvents` with REVIEW_APP). */
export function ReviewApps({ pipeline, apps, onChange }: Props) {
  useRefetchOnNews(ReviewAppEventsSubscription, { pipeline }, onChange);
  if (!apps.length) return null;
  return (
    <ul className="review-apps plain" aria-label="Review apps by pull request">
      {apps.map((review) => (
        <li key={review.id} data-review-app={review.prNumber} data-status={review.status}>
          <strong>#{review.prNumber}</strong>{" "}
          {review.app ? <Link to={`/apps/${encodeURIComponent(review.app.name)}`}>{review.appName}</Link> : review.appName}
          <span className={`status status-${review.status.toLowerCase()}`}>{review.status}</span>
          {review.branch && <div className="muted">{review.branch}</div>}
          {review.status === "ERRORED" && review.message && <p className="refusal">{review.message}</p>}
        </li>
      ))}
    </ul>
  );
}
