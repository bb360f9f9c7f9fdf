// Display titles (docs/bls.md §6, sd-boot generate_boot_entry_titles()), applied to the whole
// sorted, merged list: colliding titles get ' (version)', then ' (first 8 of machine-id)',
// then ' (id)', recomputing collisions after each step.

export interface TitleInput {
  readonly id: string;
  readonly title?: string;
  readonly version?: string;
  readonly machineId?: string;
}

/** Marks every index whose title equals another's as not unique; true if all are unique. */
function markCollisions(titles: readonly string[], unique: boolean[]): boolean {
  const seen = new Map<string, number[]>();
  titles.forEach((t, i) => {
    const l = seen.get(t);
    if (l) l.push(i);
    else seen.set(t, [i]);
  });
  let all = true;
  for (const idx of seen.values()) {
    if (idx.length < 2) continue;
    all = false;
    for (const i of idx) unique[i] = false;
  }
  return all;
}

export function disambiguateTitles(list: readonly TitleInput[]): string[] {
  // An empty title would be a blank menu line: fall back to the id as for a missing one.
  const titles = list.map((e) => (e.title ? e.title : e.id));
  const unique = list.map(() => true);
  const steps: ((e: TitleInput) => string | undefined)[] = [
    (e) => e.version,
    (e) => (e.machineId !== undefined ? [...e.machineId].slice(0, 8).join('') : undefined),
    (e) => e.id,
  ];
  for (const extra of steps) {
    if (markCollisions(titles, unique)) break;
    list.forEach((e, i) => {
      if (unique[i]) return;
      unique[i] = true;
      const x = extra(e);
      if (x) titles[i] = `${titles[i]} (${x})`; // sd-boot would append " ()" for an empty value
    });
  }
  return titles;
}
