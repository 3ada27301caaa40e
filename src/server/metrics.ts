// Prometheus text exposition, written by hand: a few counters and one histogram need no client library.

type Labels = Record<string, string>;

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  render(): string[] {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} counter`,
      ...[...this.values].map(([labels, value]) => `${this.name}${labels} ${value}`),
    ];
  }
}

class Gauge {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  set(labels: Labels, value: number): void {
    this.values.set(labelText(labels), value);
  }
  render(): string[] {
    if (this.values.size === 0) return [];
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      ...[...this.values].map(([labels, value]) => `${this.name}${labels} ${value}`),
    ];
  }
}

class Histogram {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: number[],
  ) {}
  observe(labels: Labels, value: number): void {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    this.buckets.forEach((bound, i) => {
      if (value <= bound) s.counts[i]++;
    });
    s.sum += value;
    s.count++;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const s of this.series.values()) {
      this.buckets.forEach((bound, i) => {
        lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: String(bound) })} ${s.counts[i]}`);
      });
      lines.push(`${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
      lines.push(`${this.name}_sum${labelText(s.labels)} ${s.sum}`);
      lines.push(`${this.name}_count${labelText(s.labels)} ${s.count}`);
    }
    return lines;
  }
}

export class ServerMetrics {
  readonly requests = new Counter(
    'xmodal_http_requests_total',
    'HTTP requests answered, by route and status.',
  );
  readonly duration = new Histogram(
    'xmodal_http_request_duration_seconds',
    'Time to answer HTTP requests, by route.',
    DURATION_BUCKETS,
  );
  readonly batches = new Histogram(
    'xmodal_embed_batch_rows',
    'Rows per model call, by modality.',
    BATCH_BUCKETS,
  );
  readonly batchSeconds = new Counter(
    'xmodal_embed_batch_seconds_total',
    'Time spent in model calls, by modality.',
  );
  readonly requestsBatched = new Counter('xmodal_embed_calls_total', 'Encoder calls served, by modality.');
  readonly auditMaxSkew = new Gauge(
    'xmodal_audit_max_skew',
    'Largest |mean skew@k| of a group in the latest bias audit, by collection and attribute.',
  );
  readonly auditZeroShotGap = new Gauge(
    'xmodal_audit_zero_shot_gap',
    'Largest zero-shot accuracy gap between groups in the latest bias audit, by collection and attribute.',
  );

  onBatch = (event: { modality: string; rows: number; calls: number; seconds: number }): void => {
    this.batches.observe({ modality: event.modality }, event.rows);
    this.batchSeconds.inc({ modality: event.modality }, event.seconds);
    this.requestsBatched.inc({ modality: event.modality }, event.calls);
  };

  render(): string {
    const memory = process.memoryUsage();
    const gauge = (name: string, help: string, value: number) => [
      `# HELP ${name} ${help}`,
      `# TYPE ${name} gauge`,
      `${name} ${value}`,
    ];
    return `${[
      ...this.requests.render(),
      ...this.duration.render(),
      ...this.batches.render(),
      ...this.batchSeconds.render(),
      ...this.requestsBatched.render(),
      ...this.auditMaxSkew.render(),
      ...this.auditZeroShotGap.render(),
      ...gauge('process_resident_memory_bytes', 'Resident set size in bytes.', memory.rss),
      ...gauge('nodejs_heap_used_bytes', 'V8 heap in use, bytes.', memory.heapUsed),
      ...gauge('process_uptime_seconds', 'Seconds since the process started.', process.uptime()),
    ].join('\n')}\n`;
  }
}
