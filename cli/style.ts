// How verdicts look in a terminal. Colour only on a TTY, never with --no-color or a non-empty NO_COLOR
// (https://no-color.org), so piped output, files and --json stay plain text.
import type { Verdict } from '../lab/run-record';

/** The word each verdict prints as; `runs --verdict` accepts these in any case. */
export const VERDICT_TEXT: Record<Verdict, string> = { reproduced: 'REPRODUCED', 'not-reproduced': 'not-reproduced', error: 'ERROR' };

const SGR: Record<Verdict | 'mixed', string> = { reproduced: '1;31', 'not-reproduced': '32', error: '1;33', mixed: '33' };

/** `flag`: commander's --no-color (false when given). */
export function colourOn(stream: { isTTY?: boolean }, flag: boolean | undefined): boolean {
  if (flag === false) return false;
  if ((process.env.NO_COLOR ?? '') !== '') return false;
  return stream.isTTY === true;
}

export function paint(text: string, verdict: Verdict | 'mixed', on: boolean): string {
  return on ? `\x1b[${SGR[verdict]}m${text}\x1b[0m` : text;
}

/** A summary line that opens with its verdict ("REPRODUCED — ...", "not reproduced — ...", "error — ..."). */
export function paintSummaryLine(line: string, on: boolean): string {
  const m = /^(REPRODUCED|not reproduced|error) —/.exec(line);
  if (!m) return line;
  const v: Verdict = m[1] === 'REPRODUCED' ? 'reproduced' : m[1] === 'error' ? 'error' : 'not-reproduced';
  return paint(m[1], v, on) + line.slice(m[1].length);
}
