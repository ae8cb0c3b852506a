// Runs after every system test file: roots whose tests a filter skipped are removed too.
import { afterAll } from 'vitest';
import { sweepUnusedRoots } from './host.js';

afterAll(sweepUnusedRoots);
