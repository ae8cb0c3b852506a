// Runs around every system test file: roots whose tests a filter skipped are removed too, and the
// host's device nodes that every guest start needs must come out of the file as they went in.
import { statSync } from 'node:fs';
import { afterAll, beforeAll, expect } from 'vitest';
import { sweepUnusedRoots } from './host.js';

const DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'];
const devices = () =>
  DEVICES.map((d) => {
    const s = statSync(d);
    return `${d} ${s.mode.toString(8)} ${s.uid}:${s.gid} ${s.rdev}`;
  });
let before: string[] = [];

beforeAll(() => {
  before = devices();
});
afterAll(sweepUnusedRoots);
// a test that changed one (a chown through a symlink, a control left open) would break every later start
afterAll(() => {
  expect(devices(), 'host device nodes changed during this file').toEqual(before);
});
