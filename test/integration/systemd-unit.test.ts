// The unit file: `systemd-analyze verify` accepts it without a warning, and the settings that must
// agree with the daemon do (Type=notify with a watchdog, a stop timeout longer than the drain grace).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';
import { makeDataDir } from '../helpers/daemon.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const unitPath = path.join(repoRoot, 'systemd', 'tav-engine.service');
const envExamplePath = path.join(repoRoot, 'systemd', 'tav-engine.env.example');

/** The KEY=VALUE lines of a unit or environment file; the last of a key wins, as systemd reads them. */
function serviceSettings(text: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_]+)=(.*)$/.exec(line.trim());
    if (match) settings.set(match[1]!, match[2]!);
  }
  return settings;
}

describe('systemd unit file', function () {
  const unit = fs.readFileSync(unitPath, 'utf8');
  const settings = serviceSettings(unit);

  it('passes systemd-analyze verify without warnings', function () {
    const probe = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      console.log(`      skipped: systemd-analyze is not installed here (${probe.error.message})`);
      this.skip();
    }
    // Verify checks that ExecStart's program exists: point it at this machine's node and checkout.
    const copy = path.join(makeDataDir('unit'), 'tav-engine.service');
    fs.writeFileSync(copy, unit.replace('/usr/bin/node', process.execPath).replaceAll('/opt/tav-engine', repoRoot));
    const result = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
    // verify exits 0 on directives it ignores ("Failed to parse …, ignoring"): any output is a failure.
    expect(`${result.stdout}${result.stderr}`.trim(), 'systemd-analyze verify output').to.equal('');
    expect(result.status).to.equal(0);
  });

  it('is a notify service with a watchdog, restarted on failure, run by its own user', function () {
    expect(settings.get('Type')).to.equal('notify');
    expect(settings.get('NotifyAccess')).to.equal('main');
    expect(settings.get('WatchdogSec')).to.match(/^\d+s$/);
    expect(settings.get('Restart')).to.equal('on-failure');
    expect(settings.get('User')).to.equal('tav');
    expect(settings.get('StateDirectory')).to.equal('tav-engine');
    expect(unit).to.include('Environment=TAV_DATA_DIR=/var/lib/tav-engine');
    expect(settings.get('ProtectSystem')).to.equal('strict');
    expect(settings.get('CapabilityBoundingSet')).to.equal('');
    expect(settings.get('NoNewPrivileges')).to.equal('yes');
    // V8's JIT needs writable and executable memory.
    expect(settings.has('MemoryDenyWriteExecute')).to.equal(false);
  });

  it('gives the drain longer than its grace period before systemd kills it', function () {
    const stopSeconds = Number(/^(\d+)s?$/.exec(settings.get('TimeoutStopSec') ?? '')?.[1]);
    const example = serviceSettings(fs.readFileSync(envExamplePath, 'utf8'));
    const exampleGraceMs = Number(example.get('TAV_SHUTDOWN_GRACE_MS'));
    const defaultGraceMs = loadConfig({}).shutdownGraceMs;
    // Grace, then hand-back, pool and database close: leave at least 10 s for those.
    expect(stopSeconds * 1_000).to.be.at.least(Math.max(exampleGraceMs, defaultGraceMs) + 10_000);
  });
});
