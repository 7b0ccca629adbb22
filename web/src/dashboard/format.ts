const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["second", 60],
  ["minute", 60],
  ["hour", 24],
  ["day", 30],
  ["month", 12],
  ["year", Infinity],
];

/** "3 minutes ago", with the exact time for a title attribute. */
export function ago(iso: string, now: number = Date.now()): string {
  let amount = (new Date(iso).getTime() - now) / 1000;
  for (const [unit, size] of STEPS) {
    if (Math.abs(amount) < size) return relative.format(Math.round(amount), unit);
    amount /= size;
  }
  return iso;
}

export function exact(iso: string): string {
  return new Date(iso).toLocaleString();
}

export function shortCommit(commit: string | null | undefined): string {
  return commit ? commit.slice(0, 7) : "no commit";
}

export function titleCase(value: string): string {
  return value.charAt(0) + value.slice(1).toLowerCase();
}

type Owner = { __typename?: "User"; email: string } | { __typename?: "Team"; name: string };

export function ownerName(owner: Owner): string {
  return "email" in owner ? owner.email : `team ${owner.name}`;
}
