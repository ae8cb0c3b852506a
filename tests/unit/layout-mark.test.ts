// The layout check every command runs: one file read once the mark is there, no directory read.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/index.js';
import { FakeCgroups, FakeLxcfs, FakeRuntime } from '../helpers/fake-runtime.js';

let root: string;
const make = () => new Engine(root, { runtime: new FakeRuntime(), cgroups: new FakeCgroups(), lxcfs: new FakeLxcfs() });
const lib = () => join(root, 'var/lib/vserver');

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'vslm-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('layout mark', () => {
  it('writes nothing where nothing is installed yet', () => {
    make();
    expect(existsSync(lib())).toBe(false);
  });

  it('marks an empty installation at once, then reads no directory on later commands', () => {
    mkdirSync(lib(), { recursive: true });
    make();
    expect(readFileSync(join(lib(), 'layout'), 'utf8')).toBe('2\n');
    // a guest config directory that cannot be listed: only a directory read would notice
    mkdirSync(join(root, 'etc/vserver'), { recursive: true });
    writeFileSync(join(root, 'etc/vserver/guests'), 'not a directory');
    expect(() => make()).not.toThrow();
    // control: without the mark, the check lists the guests and trips over it
    rmSync(join(lib(), 'layout'));
    expect(() => make()).toThrow(/ENOTDIR/);
  });
});
