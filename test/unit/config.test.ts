// Configuration from the environment: defaults, and every problem reported at once.
import { expect } from 'chai';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('configuration', () => {
  it('defaults to ./data/tav_engine.db on 127.0.0.1:8000 with synchronous NORMAL', () => {
    const config = loadConfig({});
    expect(config.dbPath).to.equal(path.resolve('data', 'tav_engine.db'));
    expect(config.adminKeyFile).to.equal(path.resolve('data', 'admin-api-key'));
    expect([config.host, config.port, config.sqliteSynchronous]).to.deep.equal(['127.0.0.1', 8000, 'NORMAL']);
  });

  it('places the database under TAV_DATA_DIR unless TAV_DB_PATH says otherwise', () => {
    expect(loadConfig({ TAV_DATA_DIR: '/srv/tav' }).dbPath).to.equal('/srv/tav/tav_engine.db');
    expect(loadConfig({ TAV_DATA_DIR: '/srv/tav', TAV_DB_PATH: '/db/x.db' }).dbPath).to.equal('/db/x.db');
  });

  it('accepts synchronous FULL in any case', () => {
    expect(loadConfig({ TAV_SQLITE_SYNCHRONOUS: 'full' }).sqliteSynchronous).to.equal('FULL');
  });

  it('reports every invalid value at once', () => {
    try {
      loadConfig({ TAV_PORT: 'abc', TAV_WORKERS: '0', TAV_LOG_LEVEL: 'loud', TAV_SQLITE_SYNCHRONOUS: 'OFF' });
      expect.fail('loadConfig accepted invalid values');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      for (const name of ['TAV_PORT', 'TAV_WORKERS', 'TAV_LOG_LEVEL', 'TAV_SQLITE_SYNCHRONOUS']) expect(problems).to.include(name);
    }
  });
});
