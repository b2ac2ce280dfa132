// Mocha root hooks: a passing run removes its temp data folders; a failing one keeps them all and
// says where, so the databases of the failure can be inspected.
import fs from 'node:fs';
import type { Context } from 'mocha';
import { testRunDir } from './daemon.js';

let anyFailed = false;

/** Registered through .mocharc.json `require`. */
export const mochaHooks = {
  afterEach(this: Context) {
    if (this.currentTest?.state === 'failed') anyFailed = true;
  },
  afterAll() {
    if (!fs.existsSync(testRunDir)) return;
    if (anyFailed) console.log(`test data kept for inspection in ${testRunDir}`);
    else fs.rmSync(testRunDir, { recursive: true, force: true });
  },
};
