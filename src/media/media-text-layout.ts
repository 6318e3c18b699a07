/**
 * How the lines that survive attachment removal are joined back into text: the blank-line half of
 * the text contract in `media-tags.ts`, kept apart from the reading of each line.
 */

/**
 * Accumulates output lines joined by `\n`. Blank lines are held until the next surviving line
 * shows whether a removed line stood among them: if not, they are kept as written; if so, they
 * collapse to the first one between two surviving lines and vanish at the start or end.
 */
export class MediaTextLayout {
  #output = '';
  #hasOutputLine = false;
  #hasContentLine = false;
  /** Blank lines (as written) since the last surviving line. */
  #blankLines: string[] = [];
  /** Whether a removed line stood among them. */
  #isGroupTouched = false;

  /** Holds a whitespace-only line that nothing was removed from. */
  addBlankLine(text: string): void {
    this.#blankLines.push(text);
  }

  /** Notes a line that vanished because everything on it was removed. */
  addRemovedLine(): void {
    this.#isGroupTouched = true;
  }

  /** Starts a surviving line: settles the held blank lines, then the line break. */
  beginContentLine(): void {
    const blanks = !this.#isGroupTouched
      ? this.#blankLines
      : this.#hasContentLine
        ? this.#blankLines.slice(0, 1)
        : [];
    blanks.forEach((line) => this.#emitLine(line));
    this.#emitLine('');
    this.#hasContentLine = true;
    this.#blankLines = [];
    this.#isGroupTouched = false;
  }

  /** Appends text to the current surviving line. */
  append(text: string): void {
    this.#output += text;
  }

  /** Ends the document: blank lines at the end survive only if no removed line stood among them. */
  finish(): void {
    if (!this.#isGroupTouched) this.#blankLines.forEach((line) => this.#emitLine(line));
    this.#blankLines = [];
    this.#isGroupTouched = false;
  }

  /** Returns the text produced since the last call. */
  take(): string {
    const output = this.#output;
    this.#output = '';
    return output;
  }

  #emitLine(text: string): void {
    if (this.#hasOutputLine) this.#output += '\n';
    this.#output += text;
    this.#hasOutputLine = true;
  }
}
