// The head of runc's state.json: init's pid, its start time and the creation time, read without
// parsing the container's whole config.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OciCli, runcStateHead } from '../../src/runtime/oci-cli.js';
import { processStartTime } from '../../src/util/procfs.js';

const STATE =
  '{"id":"web1","init_process_pid":4242,"init_process_start":987654,"created":"2026-12-02T03:55:19.123456789Z",' +
  `"config":{"rootfs":"/x","labels":["bundle=/b"],"cgroups":{"path":"/vserver-web1"},"pad":"${'x'.repeat(20_000)}"},"rootless":false}`;

describe("runc's state file", () => {
  it('gives what a listing needs from the head of the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runc-state-'));
    try {
      writeFileSync(join(dir, 'state.json'), STATE);
      expect(runcStateHead(join(dir, 'state.json'))).toEqual({ pid: 4242, start: 987654, created: '2026-12-02T03:55:19.123456789Z' });
      // the same as the whole file says
      const whole = JSON.parse(STATE) as { init_process_pid: number; init_process_start: number; created: string };
      expect(runcStateHead('', STATE)).toEqual({ pid: whole.init_process_pid, start: whole.init_process_start, created: whole.created });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves a head of another shape to the full parse', () => {
    expect(runcStateHead('', '{"init_process_pid":1,"id":"a","init_process_start":2,"created":"c"}')).toBeUndefined();
    expect(runcStateHead('', '{"id":"a","init_process_pid":1}')).toBeUndefined();
    expect(runcStateHead('', '')).toBeUndefined();
    expect(runcStateHead('', '{"id":"a\\"b","init_process_pid":1,"init_process_start":2,"created":"c"}')).toBeUndefined();
  });
});

describe('forgetting a stopped container without the runtime', () => {
  const container = (root: string, id: string, pid: number, start: string) => {
    mkdirSync(join(root, id), { recursive: true });
    writeFileSync(join(root, id, 'state.json'), `{"id":"${id}","init_process_pid":${pid},"init_process_start":${start},"created":"c"}`);
  };

  it('removes the state of a container whose init is dead, and never of one whose init lives', () => {
    const root = mkdtempSync(join(tmpdir(), 'runc-forget-'));
    try {
      // this test's own process plays the living init; the same pid with another start time is a dead one
      const start = processStartTime(process.pid)!;
      container(root, 'alive', process.pid, start);
      container(root, 'dead', process.pid, `${Number(start) + 1}`);
      const runc = new OciCli('runc', '/nonexistent/runc', root);
      expect(runc.forgetStopped('alive')).toBe(false);
      expect(existsSync(join(root, 'alive', 'state.json'))).toBe(true);
      expect(runc.forgetStopped('dead')).toBe(true);
      expect(existsSync(join(root, 'dead'))).toBe(false);
      // crun keeps its state in a file of its own form: read the same way
      const crunContainer = (id: string, startTime: string) => {
        mkdirSync(join(root, id));
        writeFileSync(join(root, id, 'status'), JSON.stringify({ pid: process.pid, 'process-start-time': Number(startTime), created: '' }));
      };
      const crun = new OciCli('crun', '/nonexistent/crun', root);
      crunContainer('alive2', start);
      crunContainer('dead2', `${Number(start) + 1}`);
      expect(crun.forgetStopped('alive2')).toBe(false);
      expect(existsSync(join(root, 'alive2', 'status'))).toBe(true);
      expect(crun.forgetStopped('dead2')).toBe(true);
      expect(existsSync(join(root, 'dead2'))).toBe(false);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
