import { useEffect } from "react";

import type { TestRunStatus } from "../gql/graphql";
import { useRefetchOnNews } from "./news";
import { TestRunEventsSubscription } from "./operations";

export const UNFINISHED: TestRunStatus[] = ["PENDING", "CREATING", "BUILDING", "RUNNING"];

export function finished(status: TestRunStatus): boolean {
  return !UNFINISHED.includes(status);
}

/** Heroku CI's marks: ✓ passed, ✗ failed, ! errored or cancelled, – still going. Decoration: the status is written too. */
export function mark(status: TestRunStatus): string {
  if (status === "SUCCEEDED") return "✓";
  if (status === "FAILED") return "✗";
  if (status === "ERRORED" || status === "CANCELLED") return "!";
  return "–";
}

/** "1 min 5 s" between two instants (or until now). */
export function duration(from: string, to: string | null | undefined, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.round(((to ? new Date(to).getTime() : now) - new Date(from).getTime()) / 1000));
  const minutes = Math.floor(seconds / 60);
  return minutes ? `${minutes} min ${seconds % 60} s` : `${seconds} s`;
}

export function testsPath(pipeline: string, number?: number): string {
  const base = `/pipelines/${encodeURIComponent(pipeline)}/tests`;
  return number === undefined ? base : `${base}/${number}`;
}

// News can be lost while Redis is away: pages showing runs also read them again this often.
export const TESTS_POLL_MS = 15_000;

/** Calls `refetch` on each test-run event of the pipeline (a run started, moved on or ended), and now and then. */
export function useTestRunNews(pipeline: string, refetch: () => void): void {
  useRefetchOnNews(TestRunEventsSubscription, { pipeline }, refetch);
  useEffect(() => {
    const timer = window.setInterval(refetch, TESTS_POLL_MS);
    return () => window.clearInterval(timer);
  }, [refetch]);
}
