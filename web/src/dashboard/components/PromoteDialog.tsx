import { useEffect, useRef, useState, type FormEvent } from "react";

import { mayPromoteInto } from "../access";
import { useAction } from "../actions";
import { titleCase } from "../format";
import { PromoteMutation } from "../mutations";
import { nextStage, type CardApp, type Overview } from "../pipeline";
import { Refusal } from "./Refusal";

type Props = { pipeline: Overview; source: CardApp; onClose: () => void; onStarted: (promotionId: string) => void };

/** Choose the targets: every app of the next stage by default, any other of the pipeline on request; only apps the
 * viewer may deploy to are offered. */
export function PromoteDialog({ pipeline, source, onClose, onStarted }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const sourceStage = pipeline.stages.find((stage) => stage.apps.some((app) => app.id === source.id))?.name;
  const downstream = sourceStage ? nextStage(sourceStage) : null;
  const [chosen, setChosen] = useState<Set<string>>(
    () =>
      new Set(
        pipeline.stages
          .filter((stage) => stage.name === downstream)
          .flatMap((stage) => stage.apps.filter(mayPromoteInto).map((a) => a.name)),
      ),
  );
  const promote = useAction(PromoteMutation);

  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal(); // focus moves in, Escape closes, the page behind is inert
  }, []);

  function toggle(name: string) {
    setChosen((previous) => {
      const next = new Set(previous);
      if (next.has(name)) next.delete(name);
      else next.add(name);
      return next;
    });
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const done = await promote.run({ input: { source: source.name, to: [...chosen] } });
    const promotion = done?.promote.promotion;
    if (promotion) onStarted(promotion.id);
  }

  return (
    <dialog ref={dialog} aria-labelledby="promote-title" onClose={onClose} className="dialog">
      <form onSubmit={(event) => void submit(event)}>
        <h2 id="promote-title">
          Promote {source.name} v{source.currentRelease?.version}
        </h2>
        <p className="muted">The exact slug is copied; each target runs its release phase with its own config.</p>
        {pipeline.stages.map((stage) => {
          const apps = stage.apps.filter((app) => app.id !== source.id && mayPromoteInto(app));
          if (!apps.length) return null;
          return (
            <fieldset key={stage.name}>
              <legend>{titleCase(stage.name)}</legend>
              {apps.map((app) => (
                <label key={app.id} className="check">
                  <input type="checkbox" checked={chosen.has(app.name)} onChange={() => toggle(app.name)} />
                  {app.name}
                </label>
              ))}
            </fieldset>
          );
        })}
        <Refusal message={promote.message} />
        <div className="actions">
          <button type="submit" className="primary" disabled={!chosen.size || promote.busy}>
            Promote to {chosen.size} app{chosen.size === 1 ? "" : "s"}
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
