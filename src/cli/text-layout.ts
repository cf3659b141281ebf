/**
 * Fitting the command's text to a terminal: the width to aim for, and prose wrapped at spaces.
 */

/** The terminal's width when stdout is one, else COLUMNS, else 80. */
export function outputWidth(
  stdout: { isTTY?: boolean; columns?: number },
  env: Readonly<Record<string, string | undefined>>,
): number {
  if (stdout.isTTY === true && stdout.columns !== undefined && stdout.columns > 0) return stdout.columns;
  const columns = Number(env.COLUMNS);
  return Number.isInteger(columns) && columns > 0 ? columns : 80;
}

/**
 * `text` wrapped at spaces into lines of at most `width` columns: the first starts with `first`,
 * the others with `rest`. A word longer than a line (a URL) gets a line of its own, unbroken.
 */
export function wrap(text: string, width: number, first: string, rest: string): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(' ')) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest + word;
    } else line += (empty ? '' : ' ') + word;
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** `text` cut into pieces of at most `size` characters, for a value with no spaces to wrap at. */
export function chunks(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces.length === 0 ? [''] : pieces;
}
