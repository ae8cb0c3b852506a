// GET /metrics: Prometheus text format, per guest with labels name and context, units in the names.
import { Counter, Gauge, Registry } from 'prom-client';
import type { Engine } from '../engine/index.js';
import type { GuestMetrics } from '../engine/metrics.js';

type Sample = [labels: Record<string, string>, value: number];
type Pick = (g: GuestMetrics) => Sample[];

const one = (_g: GuestMetrics, v: number | undefined): Sample[] => (v === undefined || !Number.isFinite(v) ? [] : [[{}, v]]);

/** Each metric: name, help, kind, and how to read it from a guest. */
const METRICS: [string, string, 'gauge' | 'counter', Pick][] = [
  [
    'vserver_guest_cpu_seconds_total',
    'CPU time used by the guest, by mode.',
    'counter',
    (g) =>
      g.usage
        ? [
            [{ mode: 'user' }, g.usage.userUsec / 1e6],
            [{ mode: 'system' }, g.usage.systemUsec / 1e6],
          ]
        : [],
  ],
  ['vserver_guest_memory_bytes', 'Memory charged to the guest, page cache included.', 'gauge', (g) => one(g, g.usage?.memoryBytes)],
  ['vserver_guest_memory_limit_bytes', 'Hard memory limit of the guest (absent: none).', 'gauge', (g) => one(g, g.limits?.memoryMax)],
  ['vserver_guest_swap_bytes', 'Swap the guest uses now (absent: swap not accounted).', 'gauge', (g) => one(g, g.usage?.swapBytes)],
  [
    'vserver_guest_swap_limit_bytes',
    'Swap the guest may use on top of its memory limit (absent: none).',
    'gauge',
    (g) => one(g, g.limits?.swapMax),
  ],
  ['vserver_guest_memory_peak_bytes', 'Memory high-water mark of the guest.', 'gauge', (g) => one(g, g.events?.memoryPeak)],
  ['vserver_guest_oom_kills_total', 'Processes of the guest killed at its memory limit.', 'counter', (g) => one(g, g.events?.oomKills)],
  ['vserver_guest_processes', 'Processes in the guest.', 'gauge', (g) => one(g, g.processes)],
  ['vserver_guest_tasks', 'Tasks (processes and threads) in the guest.', 'gauge', (g) => one(g, g.usage?.tasks)],
  ['vserver_guest_pids_limit', 'Most tasks the guest may have (absent: none).', 'gauge', (g) => one(g, g.limits?.pidsMax)],
  ['vserver_guest_pids_refused_total', 'Forks refused by the pids limit.', 'counter', (g) => one(g, g.events?.pidsRefused)],
  [
    'vserver_guest_cpu_throttled_seconds_total',
    'Time the guest was held back by its CPU limit.',
    'counter',
    (g) => one(g, g.events && g.events.throttledUsec / 1e6),
  ],
  ['vserver_guest_disk_read_bytes_total', 'Bytes the guest read from block devices.', 'counter', (g) => one(g, g.usage?.ioReadBytes)],
  ['vserver_guest_disk_written_bytes_total', 'Bytes the guest wrote to block devices.', 'counter', (g) => one(g, g.usage?.ioWriteBytes)],
  [
    'vserver_guest_network_receive_bytes_total',
    'Bytes received, per device in the guest.',
    'counter',
    (g) => g.net.map((d) => [{ device: d.device }, d.rxBytes]),
  ],
  [
    'vserver_guest_network_transmit_bytes_total',
    'Bytes sent, per device in the guest.',
    'counter',
    (g) => g.net.map((d) => [{ device: d.device }, d.txBytes]),
  ],
  [
    'vserver_guest_network_receive_packets_total',
    'Packets received, per device in the guest.',
    'counter',
    (g) => g.net.map((d) => [{ device: d.device }, d.rxPackets]),
  ],
  [
    'vserver_guest_network_transmit_packets_total',
    'Packets sent, per device in the guest.',
    'counter',
    (g) => g.net.map((d) => [{ device: d.device }, d.txPackets]),
  ],
  ['vserver_guest_start_time_seconds', "Unix time the guest's init started.", 'gauge', (g) => one(g, g.startTime)],
];

/** A registry whose guest metrics are read afresh, once for all guests, at each scrape. */
export function metricsRegistry(engine: Engine): Registry {
  const registry = new Registry();
  daemonMetrics(registry);
  let scrape: Promise<GuestMetrics[]> | undefined;
  const guests = () =>
    (scrape ??= engine.metrics().finally(() =>
      setImmediate(() => {
        scrape = undefined;
      }),
    ));
  new Gauge({
    name: 'vserver_guests_running',
    help: 'Guests running now.',
    registers: [registry],
    async collect() {
      this.set((await guests()).length);
    },
  });
  for (const [name, help, kind, pick] of METRICS) {
    const labelNames = [
      'name',
      'context',
      ...(name.includes('network') ? ['device'] : []),
      ...(name.includes('cpu_seconds') ? ['mode'] : []),
    ];
    const Kind = kind === 'counter' ? Counter : Gauge;
    new Kind({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const g of await guests()) {
          for (const [labels, v] of pick(g)) {
            const all = { name: g.name, context: String(g.context), ...labels };
            if (this instanceof Counter) this.inc(all, v);
            else (this as Gauge).set(all, v);
          }
        }
      },
    });
  }
  return registry;
}

/** The daemon's own figures (prom-client's defaults break promtool's naming rules). */
function daemonMetrics(registry: Registry): void {
  const started = Date.now() / 1000 - process.uptime();
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  gauge('vserverd_process_resident_memory_bytes', 'Resident memory of the daemon.', () => process.memoryUsage().rss);
  gauge('vserverd_heap_used_bytes', 'JavaScript heap in use by the daemon.', () => process.memoryUsage().heapUsed);
  gauge('vserverd_process_start_time_seconds', 'Unix time the daemon started.', () => started);
  new Counter({
    name: 'vserverd_process_cpu_seconds_total',
    help: 'CPU time used by the daemon.',
    registers: [registry],
    collect() {
      this.reset();
      const u = process.cpuUsage();
      this.inc((u.user + u.system) / 1e6);
    },
  });
}

/** Counts the requests the daemon answered, by method and status. */
export function requestCounter(registry: Registry): Counter<'method' | 'status'> {
  return new Counter({
    name: 'vserverd_http_requests_total',
    help: 'Requests answered by the daemon.',
    labelNames: ['method', 'status'],
    registers: [registry],
  });
}
