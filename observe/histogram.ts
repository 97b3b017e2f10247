/**
 * A labelled Prometheus histogram: cumulative buckets, sum and count per label
 * set, rendered in the text exposition format 0.0.4.
 *
 * @module
 */

/** Label names to values. */
export type Labels = Record<string, string>;

/** Escapes a label value for the text format. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** `a="x",b="y"`, with names sorted, for a series' braces. */
export function labelKey(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}="${escapeLabel(labels[k])}"`).join(",");
}

/** One sample line. */
export function series(name: string, key: string, value: number): string {
  return `${name}${key ? `{${key}}` : ""} ${Number.isFinite(value) ? value : 0}`;
}

interface HistogramSeries {
  /** Observations per bucket, not cumulative (`render` adds them up). */
  counts: number[];
  sum: number;
  count: number;
}

/** A histogram family. */
export interface Histogram {
  /** Observes `value` for the series named by `key` (a {@link labelKey}). */
  observe(key: string, value: number): void;
  /** Appends `# HELP`, `# TYPE` and every series to `out`. */
  render(out: string[]): void;
}

/** Creates a histogram named `name` with upper bounds `buckets` (ascending, no +Inf). */
export function createHistogram(name: string, help: string, buckets: number[]): Histogram {
  const all = new Map<string, HistogramSeries>();
  return {
    observe(key, value) {
      let h = all.get(key);
      if (!h) all.set(key, h = { counts: buckets.map(() => 0), sum: 0, count: 0 });
      // one bucket counted (the smallest that holds the value), not every larger one
      let i = 0;
      while (i < buckets.length && value > buckets[i]) i++;
      if (i < buckets.length) h.counts[i]++;
      h.sum += value;
      h.count++;
    },
    render(out) {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
      for (const [key, h] of all) {
        const sep = key ? "," : "";
        let cumulative = 0;
        buckets.forEach((le, i) => {
          cumulative += h.counts[i];
          out.push(series(`${name}_bucket`, `${key}${sep}le="${le}"`, cumulative));
        });
        out.push(
          series(`${name}_bucket`, `${key}${sep}le="+Inf"`, h.count),
          series(`${name}_sum`, key, h.sum),
          series(`${name}_count`, key, h.count),
        );
      }
    },
  };
}
