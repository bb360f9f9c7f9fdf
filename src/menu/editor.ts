// The command-line editor: a single-line buffer with a cursor and the usual keys
// (arrows, Home/End, Ctrl-A/E/K/U, Backspace/Delete). Pure state; the UI draws it.

export class LineEditor {
  private text: string;
  private pos: number;

  constructor(initial: string) {
    this.text = initial;
    this.pos = initial.length;
  }

  get value(): string {
    return this.text;
  }
  get cursor(): number {
    return this.pos;
  }

  insert(s: string): void {
    // Control characters never enter a kernel command line from the keyboard.
    const clean = s.replace(/[\x00-\x1f\x7f]/g, '');
    this.text = this.text.slice(0, this.pos) + clean + this.text.slice(this.pos);
    this.pos += clean.length;
  }
  backspace(): void {
    if (this.pos === 0) return;
    this.text = this.text.slice(0, this.pos - 1) + this.text.slice(this.pos);
    this.pos--;
  }
  del(): void {
    this.text = this.text.slice(0, this.pos) + this.text.slice(this.pos + 1);
  }
  left(): void {
    this.pos = Math.max(0, this.pos - 1);
  }
  right(): void {
    this.pos = Math.min(this.text.length, this.pos + 1);
  }
  home(): void {
    this.pos = 0;
  }
  end(): void {
    this.pos = this.text.length;
  }
  /** Ctrl-K: delete to end of line. */
  killToEnd(): void {
    this.text = this.text.slice(0, this.pos);
  }
  /** Ctrl-U: delete to start of line. */
  killToStart(): void {
    this.text = this.text.slice(this.pos);
    this.pos = 0;
  }
  /** Ctrl-W / Alt-Backspace: delete the word before the cursor. */
  killWord(): void {
    const before = this.text.slice(0, this.pos).replace(/\S+\s*$/, '');
    this.text = before + this.text.slice(this.pos);
    this.pos = before.length;
  }

  /** The visible window of `width` columns around the cursor: [text, cursor column]. */
  view(width: number): [string, number] {
    if (width <= 1) return ['', 0];
    if (this.text.length < width) return [this.text, this.pos];
    const start = Math.max(0, Math.min(this.pos - Math.floor(width * 0.7), this.text.length - width + 1));
    return [this.text.slice(start, start + width), this.pos - start];
  }
}
