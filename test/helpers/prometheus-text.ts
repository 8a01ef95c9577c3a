/**
 * A reader of the Prometheus text exposition format (0.0.4) for tests: samples with their labels,
 * and the HELP and TYPE of each metric family. Strict: a line it cannot read fails the test.
 */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface PromExposition {
  samples: PromSample[];
  help: Map<string, string>;
  types: Map<string, string>;
}

export function parsePrometheusText(text: string): PromExposition {
  const exposition: PromExposition = { samples: [], help: new Map(), types: new Map() };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const comment = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (comment) {
      (comment[1] === 'HELP' ? exposition.help : exposition.types).set(comment[2]!, comment[3]!);
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a Prometheus sample line: ${line}`);
    exposition.samples.push({ name: sample[1]!, labels: parseLabels(sample[2] ?? ''), value: parseValue(sample[3]!) });
  }
  return exposition;
}

/** The value of the one sample of `name` whose labels include `labels`; fails when there is not exactly one. */
export function sampleValue(exposition: PromExposition, name: string, labels: Record<string, string> = {}): number {
  const found = findSamples(exposition, name, labels);
  if (found.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0]!.value;
}

export function findSamples(exposition: PromExposition, name: string, labels: Record<string, string> = {}): PromSample[] {
  return exposition.samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = pattern.exec(text)) !== null) {
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, char: string) => (char === 'n' ? '\n' : char));
    consumed = pattern.lastIndex;
  }
  if (consumed !== text.length) throw new Error(`cannot read labels: {${text}}`);
  return labels;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  const value = Number(text);
  if (Number.isNaN(value) && text !== 'NaN') throw new Error(`not a sample value: ${text}`);
  return value;
}
