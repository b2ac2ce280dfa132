// The `tav` command: start the daemon, manage the schema and API keys.
import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { apiKeyScopes, generateApiKey } from './auth/api-keys.js';
import { findUser, registerUserCommands } from './cli-users.js';
import { registerMaintenanceCommands } from './cli-maintenance.js';
import { registerCleanupCommand } from './cli-cleanup.js';
import type { ApiKeyRecord } from './store/store.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { systemClock } from './domain/clock.js';
import { createLogger } from './log.js';
import { startDaemon, type Daemon } from './main.js';
import { migrateToLatest, migrationStatus, rollbackLast } from './store/migrate.js';
import { DatabaseLockedError, acquireDaemonLock, lockOwner } from './store/sqlite/daemon-lock.js';
import { KeyFileError, loadKeyring } from './auth/encryption-keys.js';
import { RotationError, rotateEncryptionKey } from './auth/key-rotation.js';
import { EncryptionKey } from './auth/secret-box.js';
import { openKnexSqlite } from './store/sqlite/knex-sqlite.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Knex } from 'knex';
import { migratePostgres, type OpenedStore } from './store/open-store.js';
import { openPgPool, PgStore } from './store/pg/pg-store.js';

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
    .option('--user <user>', 'id or name of the user the key belongs to', 'system')
    .action(createKeyCommand);
  keys.command('list').description('list API keys (never the keys themselves)').action(listKeysCommand);
  keys.command('revoke').description('revoke an API key by id').argument('<id>', 'key id', parsePositiveInt).action(revokeKeyCommand);
  registerUserCommands(program, { withStore, fail });
  registerMaintenanceCommands(program, { config: sqliteConfigOrExit });
  registerCleanupCommand(program, { withStore, config: configOrExit, fail });
  const credentials = program.command('credentials').description('manage encrypted credentials');
  credentials
    .command('rotate-key')
    .description('re-encrypt every credential under a new key in one transaction (refused while a daemon uses the database)')
    .option('--new-key <key>', 'the new key: 32 bytes as base64 or 64 hex characters, or - to read it from stdin (default: a random key, written to the key file)')
    .action(rotateKeyCommand);
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

/** The configuration of a command that works on the SQLite file only (backup, restore, check-db, …). */
function sqliteConfigOrExit(): Config {
  const config = configOrExit();
  if (config.database.kind === 'postgres') {
    fail('this command works on the embedded SQLite file; this configuration uses PostgreSQL (TAV_DATABASE_URL): use pg_dump, pg_restore, and VACUUM/ANALYZE in psql', 2);
  }
  return config;
}

async function startCommand(): Promise<void> {
  const config = configOrExit();
  const log = createLogger(config.logLevel);
  // Handlers go in before the daemon starts: systemd may send SIGTERM the moment READY=1 arrives,
  // which is before startDaemon has returned. A signal during start-up stops the daemon once it is up.
  let daemon: Daemon | null = null;
  let signals = 0;
  const stop = () => {
    daemon!.stop({ force: signals > 1 }).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    log.info('signal received', { signal, forced: signals > 1 });
    if (daemon) stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    daemon = await startDaemon(config, log);
  } catch (error) {
    log.error('daemon failed to start', { error: error instanceof Error ? error.message : String(error) });
    process.exit(error instanceof DatabaseLockedError ? 3 : 1);
  }
  if (signals > 0) stop();
}

async function withKnex<T>(run: (knex: Knex) => Promise<T>): Promise<T> {
  const config = configOrExit();
  const database = config.database;
  const knex = database.kind === 'postgres' ? openPgPool(database.url, database.schema, 2) : openKnexSqlite(config.dbPath);
  try {
    if (database.kind === 'postgres') await knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [database.schema]);
    return await run(knex);
  } finally {
    await knex.destroy();
  }
}

async function migrateCommand(options: { status?: boolean; rollback?: boolean }): Promise<void> {
  if (options.status) {
    // A status query must not create the database it reports on.
    if (configOrExit().database.kind === 'sqlite' && !fs.existsSync(configOrExit().dbPath)) {
      process.stdout.write(`no database at ${configOrExit().dbPath} yet: every migration is pending (tav start or tav migrate creates it)\n`);
      return;
    }
    const status = await withKnex(migrationStatus);
    process.stdout.write(`current: ${status.current ?? '(none)'}\napplied: ${status.applied.join(', ') || '(none)'}\npending: ${status.pending.join(', ') || '(none)'}\n`);
    return;
  }
  if (options.rollback) {
    if (configOrExit().database.kind === 'postgres') fail('refusing to roll back a shared PostgreSQL schema from here: stop every daemon of the fleet and use knex against it', 2);
    const owner = lockOwner(configOrExit().dbPath);
    if (owner !== null) fail(`refusing to roll back while a daemon (pid ${owner}) uses the database`, 3);
    const rolledBack = await withKnex(rollbackLast);
    process.stdout.write(`rolled back: ${rolledBack.join(', ') || '(nothing)'}\n`);
    return;
  }
  // On PostgreSQL under the fleet's migration lock: daemons starting meanwhile wait for it.
  const database = configOrExit().database;
  const applied = database.kind === 'postgres' ? await migratePostgres(database) : await withKnex(migrateToLatest);
  process.stdout.write(`applied: ${applied.join(', ') || '(already current)'}\n`);
}

/** Opens the store for a short command; migrations first, so a fresh data folder works. */
async function withStore<T>(run: (store: OpenedStore) => Promise<T> | T): Promise<T> {
  const config = configOrExit();
  const database = config.database;
  const log = createLogger('error');
  let store: OpenedStore;
  if (database.kind === 'postgres') {
    await migratePostgres(database);
    store = new PgStore({ url: database.url, schema: database.schema, poolMax: 2, writerMaxBatch: 100, dataDir: config.dataDir, clock: systemClock, log });
  } else {
    await withKnex(migrateToLatest);
    store = new SqliteStore({ dbPath: config.dbPath, synchronous: config.sqliteSynchronous, writerMaxBatch: 100, writerMaxDelayMs: 0, clock: systemClock, log });
  }
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

async function createKeyCommand(options: { name: string; scopes: string[]; expiresInDays?: number; user: string }): Promise<void> {
  const generated = generateApiKey();
  const expiresAt = options.expiresInDays ? new Date(Date.now() + options.expiresInDays * 86_400_000).toISOString() : null;
  const record = await withStore(async (store): Promise<ApiKeyRecord | string> => {
    const user = await findUser(store, options.user);
    if (!user) return `no user ${options.user}`;
    if (user.user_status !== 'active') return `user ${user.user_name} is ${user.user_status}; its keys would not authenticate`;
    return store.createApiKey({ userId: user.id, name: options.name, keyPrefix: generated.keyPrefix, keyHash: generated.keyHash, scopes: options.scopes, expiresAt });
  });
  if (typeof record === 'string') fail(record, 1);
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

async function rotateKeyCommand(options: { newKey?: string }): Promise<void> {
  const config = configOrExit();
  // Parsed here, not by commander, whose error would quote the (secret) value.
  const requested = options.newKey === undefined ? null : EncryptionKey.parse(options.newKey === '-' ? fs.readFileSync(0, 'utf8') : options.newKey);
  if (options.newKey !== undefined && !requested) fail('--new-key must be 32 bytes as base64 or 64 hex characters', 2);
  fs.mkdirSync(config.dataDir, { recursive: true });
  let releaseLock: () => void;
  try {
    // Held for the whole rotation: a daemon starting meanwhile is refused instead of sealing under the old key.
    releaseLock = acquireDaemonLock(config.dbPath);
  } catch (error) {
    if (error instanceof DatabaseLockedError) fail(`refusing to rotate the key while a daemon (pid ${error.ownerPid}) uses the database: stop it first`, 3);
    throw error;
  }
  let result;
  try {
    result = await withStore((store) => rotateEncryptionKey(store, loadKeyring({ envKey: config.encryptionKey, keyFile: config.encryptionKeyFile }), requested));
  } catch (error) {
    releaseLock();
    if (error instanceof RotationError || error instanceof KeyFileError) fail(error.message, 1);
    throw error;
  }
  releaseLock();
  process.stdout.write(`re-encrypted ${result.resealed} credential(s) under key ${result.newKeyId} (was ${result.oldKeyId})\n`);
  if (result.source === 'file') {
    process.stdout.write(`key file: ${config.encryptionKeyFile}; the old key is kept in ${config.encryptionKeyFile}.previous for older backups (delete it when they are gone)\n`);
  } else {
    process.stdout.write('TAV_ENCRYPTION_KEY still holds the old key: set it to the new key before starting the daemon, or nodes cannot open these credentials\n');
  }
}

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}
