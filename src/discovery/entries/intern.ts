// One object per distinct file and one string per distinct command line among the entries of
// one config: 2000 entries that name the same kernel hold one FileRef between them, not 2000
// (FileRefs are readonly, so sharing them is safe).

import type { FileRef } from '../model';

export class Interner {
  private readonly refs = new Map<string, FileRef>();
  private readonly strings = new Map<string, string>();

  ref(fsId: string, path: string): FileRef {
    const key = `${fsId}\0${path}`;
    let r = this.refs.get(key);
    if (!r) this.refs.set(key, (r = { fsId, path }));
    return r;
  }

  str(s: string): string {
    const got = this.strings.get(s);
    if (got !== undefined) return got;
    this.strings.set(s, s);
    return s;
  }
}
