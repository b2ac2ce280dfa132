#!/usr/bin/env node
// The `tav` command: a thin shim so the package bin works from a checkout after `npm install`
// (which compiles TypeScript into dist/ through the `prepare` script).
import { runCli } from '../dist/src/cli.js';

await runCli(process.argv);
