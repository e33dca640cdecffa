import type { ActiveRun } from '../../runs/active-run.ts';

export interface RecentRun {
  runId: string;
  workspace: string;
  status: string;
  finishedAt: number;
}

/** Workspaces remembered; older entries go first. Full results stay in the run store. */
const MAX_REMEMBERED = 1000;

/**
 * The last finished run of each engine workspace, so a fire-and-forget caller that went
 * away can find its run id in /claudebox/status and read the result at
 * /claudebox/runs/<id>. In memory only: after a restart the run store still has the run,
 * and the workspace's session still continues from it.
 */
export class RecentRuns {
  readonly #byWorkspace = new Map<string, RecentRun>();

  track(run: ActiveRun): void {
    void run.done.then((record) => {
      this.#byWorkspace.delete(record.workspace);
      this.#byWorkspace.set(record.workspace, {
        runId: record.id,
        workspace: record.workspace,
        status: record.status,
        finishedAt: record.finishedAt ?? Date.now(),
      });
      while (this.#byWorkspace.size > MAX_REMEMBERED) {
        const oldest = this.#byWorkspace.keys().next().value;
        if (oldest === undefined) break;
        this.#byWorkspace.delete(oldest);
      }
    });
  }

  /** Remembered runs of engine workspaces under `prefix`, newest first. */
  under(prefix: string): RecentRun[] {
    return [...this.#byWorkspace.values()]
      .filter((r) => r.workspace.startsWith(prefix))
      .sort((a, b) => b.finishedAt - a.finishedAt);
  }
}
