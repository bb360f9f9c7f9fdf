// `menuentry`/`submenu`/`hiddenentry` arguments (docs/grub-syslinux.md §A5): options may appear
// anywhere, as grub's argument parser allows; the first other word is the title and the
// rest become $1… when the body runs.

export interface MenuArgs {
  readonly title: string;
  readonly id?: string;
  readonly classes: string[];
  readonly users?: string;
  readonly hotkey?: string;
  readonly unrestricted: boolean;
  readonly args: string[];
}

export function parseMenuArgs(kind: string, argv: readonly string[]): { menu?: MenuArgs; warnings: string[] } {
  const warnings: string[] = [];
  const classes: string[] = [];
  const positional: string[] = [];
  let id: string | undefined;
  let users: string | undefined;
  let hotkey: string | undefined;
  let unrestricted = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--(class|users|hotkey|id)(?:=(.*))?$/s.exec(a);
    if (m) {
      const v = m[2] ?? argv[++i];
      if (v === undefined) {
        warnings.push(`${kind}: ${a} needs a value`);
        break;
      }
      if (m[1] === 'class') classes.push(v);
      else if (m[1] === 'users') users = v;
      else if (m[1] === 'hotkey') hotkey = v;
      else id = v;
    } else if (a === '--unrestricted') {
      unrestricted = true;
    } else if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    } else if (a.startsWith('--') && a.length > 2) {
      warnings.push(`${kind}: unknown option ${a.slice(0, 40)} ignored`);
    } else {
      positional.push(a);
    }
  }
  if (positional.length === 0) return { warnings: [...warnings, `${kind} without a title`] };
  return {
    menu: {
      title: positional[0]!,
      ...(id !== undefined ? { id } : {}),
      classes,
      ...(users !== undefined ? { users } : {}),
      ...(hotkey !== undefined ? { hotkey } : {}),
      unrestricted,
      args: positional.slice(1),
    },
    warnings,
  };
}
