// GET /1.0/host/resources: the host's CPU, memory and disk, and the guests' bridge and address pools.
import { readFileSync, statfsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Engine } from '../engine/index.js';
import type { GuestList } from './guest-list.js';

/** MemAvailable from /proc/meminfo, in bytes (what can be used without swapping). */
function memAvailable(): number {
  const kb = Number(/^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  return kb * 1024;
}

export function hostViewRoutes(app: FastifyInstance, engine: Engine, list: GuestList): void {
  app.get('/1.0/host/resources', async () => {
    const fs = statfsSync(engine.deps.paths.root);
    const net = engine.deps.host().network;
    const guests = await list.list();
    // each bridge with the guests on it and the addresses they hold
    const bridges = new Map<string, { name: string; guests: { name: string; addresses: string[] }[] }>();
    for (const g of guests) {
      for (const i of g.interfaces ?? []) {
        if (i.mode !== 'bridge' || i.bridge === undefined) continue;
        const b = bridges.get(i.bridge) ?? { name: i.bridge, guests: [] };
        b.guests.push({ name: g.name, addresses: i.addresses });
        bridges.set(i.bridge, b);
      }
    }
    if (!bridges.has(net.bridge)) bridges.set(net.bridge, { name: net.bridge, guests: [] });
    return {
      cpu: { cores: cpus().length, load: loadavg() },
      memory: { total: totalmem(), available: memAvailable() },
      disk: { path: engine.deps.paths.root, total: fs.blocks * fs.bsize, available: fs.bavail * fs.bsize },
      network: { bridge: net.bridge, pool: net.pool, ...(net.pool6 ? { pool6: net.pool6 } : {}), bridges: [...bridges.values()] },
    };
  });
}
