// The command-line editor: a single-line buffer with a cursor and the usual keys
// (arrows, Home/End, Ctrl-A/E/K/U, Backspace/Delete). Pure state; the UI draws it. The text
// may come from a disk (an entry's command line): view() shows it printable.

import { printable } from '../util/printable';

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
    // Control characters (C0, DEL, C1) never enter a kernel command line from the keyboard.
    const clean = s.replace(/[\x00-\x1f\x7f-\x9f]/g, '');
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

  /**
   * The visible window of `width` columns around the cursor: [text, cursor column]. The text is
   * the printable form (src/util/printable.ts), so an ESC in the buffer shows as `\x1b` and the
   * cursor column counts the escape's columns.
   */
  view(width: number): [string, number] {
    if (width <= 1) return ['', 0];
    const shown = printable(this.text);
    // printable() maps code unit by code unit: the cursor's column is the length of the prefix's form.
    const pos = printable(this.text.slice(0, this.pos)).length;
    if (shown.length < width) return [shown, pos];
    const start = Math.max(0, Math.min(pos - Math.floor(width * 0.7), shown.length - width + 1));
    return [shown.slice(start, start + width), pos - start];
  }
}
