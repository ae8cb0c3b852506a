import { cpSync, mkdirSync, mkdtempSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CgroupV1, CgroupV2, cgroupReader, detectLayout } from '../../src/resources/cgroup.js';

const FIX = join(__dirname, '../fixtures/cgroup');
const tmps: string[] = [];
afterEach(() => { for (const t of tmps.splice(0)) rmSync(t, { recursive: true, force: true }); });

describe('cgroup layout', () => {
  it('tells v2, hybrid and v1 apart', () => {
    expect(detectLayout(join(FIX, 'v2'))).toBe('v2');
    expect(detectLayout(join(FIX, 'v1'))).toBe('hybrid');
    const plain = mkdtempSync(join(tmpdir(), 'cg-'));
    tmps.push(plain);
    expect(detectLayout(plain)).toBe('v1');
  });

  it('picks the reader for the layout', () => {
    expect(cgroupReader(join(FIX, 'v2'))).toBeInstanceOf(CgroupV2);
    expect(cgroupReader(join(FIX, 'v1'))).toBeInstanceOf(CgroupV1);
  });
});

describe('cgroup v2 reader', () => {
  const r = new CgroupV2(join(FIX, 'v2'));
  it('counts the processes of a guest and its sub-cgroups', () => {
    expect(r.pids('vserver-web1').sort()).toEqual([1200, 1201, 1202, 1300]);
  });
  it('finds nothing for a guest without a cgroup', () => {
    expect(r.pids('vserver-none')).toEqual([]);
    expect(r.dirs('vserver-none')).toEqual([]);
  });
});

describe('cgroup v1 reader', () => {
  const r = new CgroupV1(join(FIX, 'v1'), 'hybrid');
  it('counts each co-mounted hierarchy once', () => {
    expect(r.hierarchies.map((h) => h.split('/').pop()).sort()).toEqual(['cpu,cpuacct', 'memory', 'pids', 'systemd', 'unified']);
  });
  it('counts processes from the pids hierarchy', () => {
    expect(r.pids('vserver-web1')).toEqual([2001, 2002, 2003]);
  });
  it('finds the guest in every hierarchy', () => {
    expect(r.dirs('vserver-web1')).toHaveLength(5);
  });
});

describe('removing a cgroup', () => {
  it('removes children first and reports what could not go', () => {
    const root = mkdtempSync(join(tmpdir(), 'cg-'));
    tmps.push(root);
    cpSync(join(FIX, 'v2', 'cgroup.controllers'), join(root, 'cgroup.controllers'));
    mkdirSync(join(root, 'vserver-a/x/y'), { recursive: true });
    mkdirSync(join(root, 'vserver-a/z'), { recursive: true });
    const r = new CgroupV2(root);
    expect(r.remove('vserver-a')).toEqual([]);
    expect(existsSync(join(root, 'vserver-a'))).toBe(false);
    expect(r.remove('vserver-a')).toEqual([]); // again: nothing to do, no error
  });
});

describe.skipIf(process.getuid?.() !== 0)('handing a cgroup to a systemd guest', () => {
  const copy = (layout: string) => {
    const d = mkdtempSync(join(tmpdir(), 'cg-'));
    tmps.push(d);
    cpSync(join(FIX, layout), d, { recursive: true });
    return d;
  };

  it('on v2: the guest directory and its delegation files only', () => {
    const root = copy('v2');
    const changed = new CgroupV2(root).delegate('vserver-web1', 6553600, 6553600);
    expect(changed).toEqual([join(root, 'vserver-web1')]);
    expect(statSync(join(root, 'vserver-web1')).uid).toBe(6553600);
    expect(statSync(join(root, 'vserver-web1/cgroup.procs')).uid).toBe(6553600);
    expect(statSync(join(root, 'cgroup.procs')).uid).toBe(0);
  });

  it('on v1/hybrid: the named systemd hierarchy (whole subtree) and the unified one, never a controller', () => {
    const root = copy('v1');
    const changed = new CgroupV1(root, 'hybrid').delegate('vserver-web1', 6553600, 6553600).map((d) => d.slice(root.length));
    expect(changed.sort()).toEqual(['/systemd/vserver-web1', '/unified/vserver-web1']);
    expect(statSync(join(root, 'systemd/vserver-web1')).uid).toBe(6553600);
    expect(statSync(join(root, 'memory/vserver-web1')).uid).toBe(0);
    expect(statSync(join(root, 'pids/vserver-web1')).uid).toBe(0);
  });
});
