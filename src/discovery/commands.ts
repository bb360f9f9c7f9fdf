// `tendril list` and `tendril probe` (filled in by the discovery integration).
export async function runDiscoveryCommand(cmd: 'list' | 'probe', _argv: string[]): Promise<number> {
  process.stderr.write(`tendril ${cmd}: not yet wired\n`);
  return 1;
}
