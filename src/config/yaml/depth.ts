// How deeply a YAML text nests, estimated in one pass before the `yaml` package sees it. yaml
// composes recursively; past ~800 levels it overflows the stack, and near that edge node can
// die outright (a fatal "RegExpCompiler Allocation failed" was seen in tests), so deep
// documents must be refused before parsing, not after.

const SP = 0x20;
const TAB = 0x09;
const NL = 0x0a;

/**
 * Offset at which nesting first exceeds `limit` levels, or -1. Block levels are tracked as a stack
 * of indentation columns (compact "- " and "? " items open a level each); flow levels count "["
 * and "{" where a node can start, outside quotes and comments.
 */
export function tooDeepAt(text: string, limit: number): number {
  const cols: number[] = [];
  let flow = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    // Start of a line: indentation (inside flow collections, lines do not nest by indentation).
    let col = 0;
    while (i < n && (text.charCodeAt(i) === SP || text.charCodeAt(i) === TAB)) {
      i++;
      col++;
    }
    if (i < n && flow === 0 && text.charCodeAt(i) !== NL && text.charCodeAt(i) !== 0x23) {
      while (cols.length > 0 && cols[cols.length - 1] > col) cols.pop();
      if (cols.length === 0 || cols[cols.length - 1] < col) cols.push(col);
      // Compact block items: "- - - x" nests a level per indicator.
      while ((text[i] === '-' || text[i] === '?') && text.charCodeAt(i + 1) === SP) {
        i += 2;
        col += 2;
        while (text.charCodeAt(i) === SP) {
          i++;
          col++;
        }
        cols.push(col);
        if (cols.length > limit) return i;
      }
      if (cols.length > limit) return i;
    }
    // Rest of the line.
    let prev = SP;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === NL) {
        i++;
        break;
      }
      const atTokenStart = prev === SP || prev === TAB || prev === 0x5b || prev === 0x7b || prev === 0x2c;
      if (c === 0x23 && (prev === SP || prev === TAB)) {
        while (i < n && text.charCodeAt(i) !== NL) i++;
        continue;
      }
      if ((c === 0x22 || c === 0x27) && atTokenStart) {
        i = skipQuoted(text, i);
        prev = c;
        continue;
      }
      if ((c === 0x5b || c === 0x7b) && (atTokenStart || flow > 0)) {
        flow++;
        if (cols.length + flow > limit) return i;
      } else if ((c === 0x5d || c === 0x7d) && flow > 0) {
        flow--;
      }
      prev = c;
      i++;
    }
  }
  return -1;
}

/** Offset just after the quoted scalar starting at `i` ('' and \" escapes), or the end of the text. */
function skipQuoted(text: string, i: number): number {
  const q = text[i];
  for (let j = i + 1; j < text.length; j++) {
    const c = text[j];
    if (q === '"' && c === '\\') j++;
    else if (c === q) {
      if (q === "'" && text[j + 1] === "'") j++;
      else return j + 1;
    }
  }
  return text.length;
}
