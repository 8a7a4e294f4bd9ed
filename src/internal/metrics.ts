/**
 * Prometheus exposition for the daemons (nsq-ts; Go NSQ has no /metrics). Each daemon keeps its
 * own registry of families that are filled from one snapshot per scrape, so nothing is counted on
 * the message path; the Node process families (CPU, memory, event-loop lag, GC) live in one
 * registry per process, shared by every daemon embedded in it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Counter, Gauge, Registry } from 'prom-client';
import { respondText } from './http.js';
import { errorText } from './log.js';

type PromClient = typeof import('prom-client');

// prom-client is loaded at the first scrape: a daemon that is never scraped does not pay its
// start-up time (about 40 ms).
let promClient: Promise<PromClient> | null = null;
let processRegistry: Registry | null = null;

async function loadPromClient(): Promise<PromClient> {
  const prom = await (promClient ??= import('prom-client'));
  if (processRegistry === null) {
    processRegistry = new prom.Registry();
    prom.collectDefaultMetrics({ register: processRegistry });
  }
  return prom;
}

/** A family whose series are replaced wholesale on every scrape. */
export interface Family<L extends string> {
  set(labels: Record<L, string>, value: number): void;
}

interface FamilySpec {
  kind: 'gauge' | 'counter';
  name: string;
  help: string;
  labelNames: readonly string[];
  metric: Gauge | Counter | null;
}

/**
 * A daemon's registry. `refresh` runs before each scrape: every family is reset (so a deleted
 * topic's series disappear) and `refresh` sets each series from the daemon's current state.
 */
export class MetricsRegistry {
  private registry: Registry | null = null;
  private readonly specs: FamilySpec[] = [];

  constructor(private readonly refresh: () => void) {}

  /** A gauge: a value that goes up and down (a depth, a flag as 0/1). */
  gauge<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Family<L> {
    const spec: FamilySpec = { kind: 'gauge', name, help, labelNames, metric: null };
    this.specs.push(spec);
    return { set: (labels, value) => (spec.metric as Gauge).set(labels, value) };
  }

  /** A counter: a running total the daemon keeps (prom-client has no set(), so it is reset and incremented by the total). */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Family<L> {
    const spec: FamilySpec = { kind: 'counter', name, help, labelNames, metric: null };
    this.specs.push(spec);
    return { set: (labels, value) => (spec.metric as Counter).inc(labels, value) };
  }

  /** The exposition text: the process families, then this daemon's. */
  async render(): Promise<string> {
    const prom = await loadPromClient();
    if (this.registry === null) {
      const registers = [(this.registry = new prom.Registry())];
      for (const s of this.specs) {
        const config = { name: s.name, help: s.help, labelNames: s.labelNames, registers };
        s.metric = s.kind === 'gauge' ? new prom.Gauge(config) : new prom.Counter(config);
      }
    }
    for (const s of this.specs) s.metric!.reset();
    this.refresh();
    const [proc, own] = await Promise.all([processRegistry!.metrics(), this.registry.metrics()]);
    return `${proc}\n${own}`;
  }

  /** GET /metrics. */
  readonly handler = async (_req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const body = Buffer.from(await this.render(), 'utf8');
      const { Registry } = await loadPromClient();
      res.writeHead(200, { 'Content-Type': Registry.PROMETHEUS_CONTENT_TYPE, 'Content-Length': String(body.length) });
      res.end(body);
    } catch (err) {
      respondText(res, 500, `metrics: ${errorText(err)}`);
    }
  };
}

/** Nanoseconds (as the stats documents carry latencies) to the seconds Prometheus wants. */
export const nsToSeconds = (ns: number): number => ns / 1e9;
