// Text for a terminal of a given width: words are never split; continuation lines are indented
// under the line they continue. Off a terminal nothing is wrapped (logs stay greppable).

/** Words to lines of at most `width` characters (`rest` after the first; a longer word gets a line of its own). */
export function wrapWords(text: string, width: number, rest = width): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > (lines.length ? rest : width)) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Each line of `text` wrapped at `width`, keeping its own indentation plus `hang` on continuations. */
export function wrapText(text: string, width: number | undefined, hang = '    '): string {
  if (!width || width < 20) return text;
  return text
    .split('\n')
    .flatMap((line) => {
      if (line.length <= width) return [line];
      const lead = /^\s*/.exec(line)![0];
      const wrapped = wrapWords(line.slice(lead.length), width - lead.length, width - lead.length - hang.length);
      return wrapped.map((l, i) => (i === 0 ? lead + l : lead + hang + l));
    })
    .join('\n');
}
