// `tav users …`: create, disable, enable and list the users API keys belong to. Disabling a user
// refuses every key it holds at once (the daemon checks the user's status on each request).
import fs from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { hashPassword, minPasswordLength } from './auth/passwords.js';
import type { UserRecord, UserStatus } from './store/access-store.js';
import type { OpenedStore } from './store/open-store.js';

/** What the user commands borrow from cli.ts. */
export interface UserCommandContext {
  withStore<T>(run: (store: OpenedStore) => Promise<T> | T): Promise<T>;
  fail(message: string, code: number): never;
}

/** The system user (seeded as id 1) owns internal work and the bootstrap key; it is never disabled. */
const systemUserId = 1;

/** Adds `tav users` and its subcommands to `program`. */
export function registerUserCommands(program: Command, context: UserCommandContext): void {
  const users = program.command('users').description('manage users (API keys belong to a user)');
  users
    .command('create')
    .description('create a user')
    .requiredOption('--name <name>', 'a unique user name (not all digits)', parseUserName)
    .option('--email <email>', 'a unique email address', parseEmail)
    .option('--password-stdin', 'read a password from standard input (stored as a salted scrypt hash)')
    .action((options: { name: string; email?: string; passwordStdin?: boolean }) => createUser(context, options));
  users
    .command('disable')
    .description("disable a user: every API key it holds is refused from the next request")
    .argument('<user>', 'user id or name')
    .option('--lock', "mark the user locked instead of inactive")
    .action((user: string, options: { lock?: boolean }) => setStatus(context, user, options.lock ? 'locked' : 'inactive'));
  users
    .command('enable')
    .description('make a disabled user active again')
    .argument('<user>', 'user id or name')
    .action((user: string) => setStatus(context, user, 'active'));
  users
    .command('list')
    .description('list users (never their password hashes)')
    .action(() => listUsers(context));
}

/** The user an `<id|name>` argument names: an all-digit argument is an id, anything else a name. */
export async function findUser(store: OpenedStore, reference: string): Promise<UserRecord | null> {
  return /^\d+$/.test(reference) ? await store.getUser(Number(reference)) : await store.findUserByName(reference);
}

async function createUser(context: UserCommandContext, options: { name: string; email?: string; passwordStdin?: boolean }): Promise<void> {
  let passwordHash: string | null = null;
  if (options.passwordStdin) {
    // One line: a trailing newline from `echo` or a here-string is not part of the password.
    const password = fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    if (password.length < minPasswordLength) context.fail(`the password must be at least ${minPasswordLength} characters`, 2);
    if (password.length > 1024) context.fail('the password must be at most 1024 characters', 2);
    passwordHash = await hashPassword(password);
  }
  const created = await context.withStore(async (store) => {
    const result = await store.createUser({ name: options.name, email: options.email ?? null, passwordHash });
    if (typeof result !== 'string') store.recordAudit(cliAudit('cli users create', result.id, { name: result.user_name }));
    return result;
  });
  if (created === 'name_taken') context.fail(`a user named ${options.name} already exists`, 1);
  if (created === 'email_taken') context.fail(`a user with email ${options.email} already exists`, 1);
  process.stdout.write(`id: ${created.id}\nname: ${created.user_name}\nemail: ${created.user_email ?? '-'}\nstatus: ${created.user_status}\npassword: ${created.has_password ? 'set' : 'none'}\n`);
}

async function setStatus(context: UserCommandContext, reference: string, status: UserStatus): Promise<void> {
  const outcome = await context.withStore(async (store) => {
    const user = await findUser(store, reference);
    if (!user) return 'missing' as const;
    if (user.id === systemUserId && status !== 'active') return 'system' as const;
    await store.setUserStatus(user.id, status);
    store.recordAudit(cliAudit(`cli users ${status === 'active' ? 'enable' : 'disable'}`, user.id, { name: user.user_name, old: user.user_status, new: status }));
    return user;
  });
  if (outcome === 'missing') context.fail(`no user ${reference}`, 1);
  if (outcome === 'system') context.fail('the system user (id 1) cannot be disabled: it owns the bootstrap admin key', 1);
  process.stdout.write(`user ${outcome.id} (${outcome.user_name}) is ${status}\n`);
}

async function listUsers(context: UserCommandContext): Promise<void> {
  const users = await context.withStore((store) => store.listUsers());
  for (const user of users) {
    process.stdout.write(`${user.id}\t${user.user_name}\t${user.user_email ?? '-'}\t${user.user_status}\tpassword ${user.has_password ? 'set' : 'none'}\n`);
  }
}

/** An audit row for a change made at the shell: no user or key, the operator's action named. */
function cliAudit(action: string, userId: number, details: Record<string, string>) {
  return {
    userId: null,
    apiKeyId: null,
    action,
    resourceType: 'users',
    resourceId: String(userId),
    ipAddress: null,
    userAgent: 'tav cli',
    statusCode: null,
    errorCode: null,
    errorMessage: null,
    details,
    requestId: null,
  };
}

function parseUserName(value: string): string {
  const name = value.trim();
  // All-digit names would be ambiguous with ids in `tav users disable <id|name>`.
  if (name.length === 0 || name.length > 255 || /[\u0000-\u001f\u007f]/.test(name) || /^\d+$/.test(name)) {
    throw new InvalidArgumentError('must be 1–255 characters, no control characters, not all digits');
  }
  return name;
}

function parseEmail(value: string): string {
  const email = value.trim();
  if (email.length > 255 || !/^[^\s@]+@[^\s@]+$/.test(email)) throw new InvalidArgumentError('must be an email address');
  return email;
}
