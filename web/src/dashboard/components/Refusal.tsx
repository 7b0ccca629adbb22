/** The API's own words when it refuses something: announced to screen readers as it appears. */
export function Refusal({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p role="alert" className="refusal">
      {message}
    </p>
  );
}
