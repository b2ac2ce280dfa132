// The `tav` command: start the daemon, manage the schema and API keys.
import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { apiKeyScopes, generateApiKey } from './auth/api-keys.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { systemClock } from './domain/clock.js';
import { createLogger } from './log.js';
import { startDaemon } from './main.js';
import { migrateToLatest, migrationStatus, rollbackLast } from './store/migrate.js';
import { DatabaseLockedError, lockOwner } from './store/sqlite/daemon-lock.js';
import { openKnexSqlite } from './store/sqlite/knex-sqlite.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';

/** Runs the command line; exits the process with a meaningful code on failure. */
export async function runCli(argv: string[]): Promise<void> {
  const program = new Command('tav').description('TAV Engine: workflow-automation worker daemon').showHelpAfterError();
  program.command('start').description('run the daemon in the foreground').action(startCommand);
  program
    .command('migrate')
    .description('apply pending migrations (default), show their status, or roll back the last batch')
    .option('--status', 'list applied and pending migrations')
    .option('--rollback', 'roll back the last batch of migrations')
    .action(migrateCommand);
  const keys = program.command('keys').description('manage API keys');
  keys
    .command('create')
    .description('create an API key and print it once')
    .option('--name <name>', 'a name to recognise the key by', 'cli key')
    .option('--scopes <scopes>', `comma-separated scopes (${apiKeyScopes.join(', ')})`, parseScopes, ['admin'])
    .option('--expires-in-days <days>', 'expire the key after this many days', parsePositiveInt)
    .action(createKeyCommand);
  keys.command('list').description('list API keys (never the keys themselves)').action(listKeysCommand);
  keys.command('revoke').description('revoke an API key by id').argument('<id>', 'key id', parsePositiveInt).action(revokeKeyCommand);
  await program.parseAsync(argv);
}

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

async function startCommand(): Promise<void> {
  const config = configOrExit();
  const log = createLogger(config.logLevel);
  let daemon;
  try {
    daemon = await startDaemon(config, log);
  } catch (error) {
    log.error('daemon failed to start', { error: error instanceof Error ? error.message : String(error) });
    process.exit(error instanceof DatabaseLockedError ? 3 : 1);
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    log.info('signal received', { signal, forced: signals > 1 });
    daemon.stop({ force: signals > 1 }).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function withKnex<T>(run: (knex: ReturnType<typeof openKnexSqlite>) => Promise<T>): Promise<T> {
  const knex = openKnexSqlite(configOrExit().dbPath);
  try {
    return await run(knex);
  } finally {
    await knex.destroy();
  }
}

async function migrateCommand(options: { status?: boolean; rollback?: boolean }): Promise<void> {
  if (options.status) {
    // A status query must not create the database it reports on.
    if (!fs.existsSync(configOrExit().dbPath)) {
      process.stdout.write(`no database at ${configOrExit().dbPath} yet: every migration is pending (tav start or tav migrate creates it)\n`);
      return;
    }
    const status = await withKnex(migrationStatus);
    process.stdout.write(`current: ${status.current ?? '(none)'}\napplied: ${status.applied.join(', ') || '(none)'}\npending: ${status.pending.join(', ') || '(none)'}\n`);
    return;
  }
  if (options.rollback) {
    const owner = lockOwner(configOrExit().dbPath);
    if (owner !== null) fail(`refusing to roll back while a daemon (pid ${owner}) uses the database`, 3);
    const rolledBack = await withKnex(rollbackLast);
    process.stdout.write(`rolled back: ${rolledBack.join(', ') || '(nothing)'}\n`);
    return;
  }
  const applied = await withKnex(migrateToLatest);
  process.stdout.write(`applied: ${applied.join(', ') || '(already current)'}\n`);
}

/** Opens the store for a short command; migrations first, so a fresh data folder works. */
async function withStore<T>(run: (store: SqliteStore) => Promise<T> | T): Promise<T> {
  const config = configOrExit();
  await withKnex(migrateToLatest);
  const store = new SqliteStore({ dbPath: config.dbPath, synchronous: config.sqliteSynchronous, writerMaxBatch: 100, writerMaxDelayMs: 0, clock: systemClock, log: createLogger('error') });
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

async function createKeyCommand(options: { name: string; scopes: string[]; expiresInDays?: number }): Promise<void> {
  const generated = generateApiKey();
  const expiresAt = options.expiresInDays ? new Date(Date.now() + options.expiresInDays * 86_400_000).toISOString() : null;
  const record = await withStore((store) =>
    store.createApiKey({ userId: 1, name: options.name, keyPrefix: generated.keyPrefix, keyHash: generated.keyHash, scopes: options.scopes, expiresAt }),
  );
  process.stdout.write(`id: ${record.id}\nname: ${record.name}\nscopes: ${record.scopes.join(',')}\nexpires_at: ${record.expires_at ?? 'never'}\nkey: ${generated.key}\n`);
  process.stderr.write('Store the key now: it is not shown again.\n');
}

async function listKeysCommand(): Promise<void> {
  const keys = await withStore((store) => store.listApiKeys());
  for (const key of keys) {
    const state = key.revoked_at ? 'revoked' : key.expires_at && Date.parse(key.expires_at) <= Date.now() ? 'expired' : 'active';
    process.stdout.write(`${key.id}\t${key.key_prefix}…\t${state}\t${key.scopes.join(',')}\t${key.name}\tlast used ${key.last_used_at ?? 'never'}\n`);
  }
}

async function revokeKeyCommand(id: number): Promise<void> {
  const revoked = await withStore((store) => store.revokeApiKey(id));
  if (!revoked) fail(`no active API key with id ${id}`, 1);
  process.stdout.write(`revoked key ${id}\n`);
}

function parseScopes(value: string): string[] {
  const scopes = value.split(',').map((scope) => scope.trim()).filter(Boolean);
  const unknown = scopes.filter((scope) => !(apiKeyScopes as readonly string[]).includes(scope));
  if (scopes.length === 0 || unknown.length > 0) throw new InvalidArgumentError(`scopes must be among ${apiKeyScopes.join(', ')}`);
  return scopes;
}

function parsePositiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return parsed;
}

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
