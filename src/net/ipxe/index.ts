// A script with menus becomes one path per item (docs/net-bootfiles.md §4.4): the script runs
// once with no answers; at the first `choose` it reports the menu, and runs again once per item
// with that item as the answer, and so on for nested menus. A menu met again on the same path
// (a "back" or "refresh" item) ends that path. Bounded by `maxRuns`.

import { type IpxeOutcome, type Note, type RunOptions, runIpxe } from './interp';

export { IpxeError } from './script';
export { RUN_LIMITS, runIpxe, type IpxeImage, type IpxeOutcome, type MenuSpec, type Note } from './interp';
export { SETTING_LIMITS } from './settings';
export { SCRIPT_LIMITS } from './script';

export const MAX_RUNS = 128;
/** Commands over all runs of one script: a hostile menu costs at most about a second of CPU. */
export const MAX_TOTAL_STEPS = 1_000_000;

export interface IpxePath {
  /** The item labels chosen, one per `choose` met. */
  readonly choices: readonly string[];
  /** The texts of those items (for the title). */
  readonly texts: readonly string[];
  readonly outcome: IpxeOutcome;
  readonly notes: readonly Note[];
  /** Every menu on the path chose its `--default` item. */
  readonly isDefault: boolean;
  /** The path came back to a menu it already passed (a back/refresh item): nothing to boot. */
  readonly loop?: boolean;
}

export interface Exploration {
  readonly paths: IpxePath[];
  /** The run or step budget cut the exploration short. */
  readonly truncated: boolean;
  /** The first menu's `choose --timeout`, in ms. */
  readonly timeoutMs?: number;
}

export async function exploreIpxe(
  url: string,
  bytes: Uint8Array,
  opts: Omit<RunOptions, 'choices'>,
  maxRuns = MAX_RUNS,
): Promise<Exploration> {
  const paths: IpxePath[] = [];
  const queue: { choices: string[]; seen: string[]; isDefault: boolean }[] = [
    { choices: [], seen: [], isDefault: true },
  ];
  let runs = 0;
  let steps = 0;
  let timeoutMs: number | undefined;
  while (queue.length > 0) {
    if (runs >= maxRuns || steps >= MAX_TOTAL_STEPS)
      return { paths, truncated: true, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
    const p = queue.shift()!;
    runs++;
    const r = await runIpxe(url, bytes, { ...opts, choices: p.choices });
    steps += r.steps;
    const o = r.outcome;
    if (o.kind !== 'menu') {
      paths.push({ choices: p.choices, texts: r.taken, outcome: o, notes: r.notes, isDefault: p.isDefault });
      continue;
    }
    if (p.choices.length === 0 && o.menu.timeoutMs !== undefined) timeoutMs = o.menu.timeoutMs;
    const key = `${o.at.url}:${o.at.line}`;
    if (p.seen.includes(key)) {
      paths.push({ choices: p.choices, texts: r.taken, outcome: o, notes: r.notes, isDefault: false, loop: true });
      continue;
    }
    const labels = new Set<string>();
    for (const item of o.menu.items) {
      // Two items with one label set the same answer: one path.
      if (labels.has(item.label)) continue;
      labels.add(item.label);
      queue.push({
        choices: [...p.choices, item.label],
        seen: [...p.seen, key],
        isDefault: p.isDefault && o.menu.default === item.label,
      });
    }
  }
  return { paths, truncated: false, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
}
