// Each workflow's pending-event count, kept by the database itself, so the enqueue depth check
// (max_queue_depth_per_workflow) reads one row instead of counting an index range inside the writer's
// transaction (a COUNT(*) cost ~0.7 ms at 10,000 pending). Triggers rather than application code
// keep it exact whoever writes event_queue: the daemon, the `tav` maintenance commands, a restored
// backup, or several daemons sharing one PostgreSQL database.
//
// Invariant: workflow_queue_depth.pending = COUNT(*) of the workflow's events with status 'pending';
// a missing row means 0. Only an entry into 'pending' creates a row (upsert), a departure only
// decrements an existing one, so the cascade that deletes a workflow's events can never re-create the
// row the same cascade removes (SQLite and PostgreSQL both fire row triggers for FK cascade deletes).
// Retention deletes finished events only, which the WHEN clauses skip. PostgreSQL's TRUNCATE fires no
// row triggers: never truncate event_queue without emptying this table too.
//
// For an exact limit on PostgreSQL, an enqueue must lock the workflow's row before it reads the count
// (upsert a 0 row, then SELECT … FOR UPDATE), or two daemons could both see room for the last slot.
import type { Knex } from 'knex';

/** The counter table, its triggers and the backfill, in one transaction (knex's default). */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('workflow_queue_depth', (t) => {
    t.string('workflow_id', 36).primary();
    t.foreign('workflow_id').references('id').inTable('workflows').onDelete('CASCADE');
    t.integer('pending').notNullable().defaultTo(0);
  });
  // Triggers before the backfill: on PostgreSQL CREATE TRIGGER locks event_queue against writers until
  // commit, so no event can slip between the count and the first trigger firing.
  for (const sql of isPostgres(knex) ? postgresTriggers : sqliteTriggers) await knex.raw(sql);
  await knex.raw(
    `INSERT INTO workflow_queue_depth (workflow_id, pending)
     SELECT workflow_id, COUNT(*) FROM event_queue WHERE status = 'pending' GROUP BY workflow_id`,
  );
}

/** Drops the triggers, the PostgreSQL trigger function and the table. */
export async function down(knex: Knex): Promise<void> {
  for (const name of triggerNames) await knex.raw(`DROP TRIGGER IF EXISTS ${name}${isPostgres(knex) ? ' ON event_queue' : ''}`);
  if (isPostgres(knex)) await knex.raw(`DROP FUNCTION IF EXISTS ${pgFunction}()`);
  await knex.schema.dropTableIfExists('workflow_queue_depth');
}

function isPostgres(knex: Knex): boolean {
  return knex.client.config.client === 'pg' || knex.client.dialect === 'postgresql';
}

const triggerNames = ['trg_queue_depth_insert', 'trg_queue_depth_delete', 'trg_queue_depth_leave', 'trg_queue_depth_enter'] as const;

const pgFunction = 'tav_track_queue_depth';

// workflow_id never changes in our code, but a move between workflows is counted correctly anyway.
const leavesPending = `OLD.status = 'pending' AND (NEW.status <> 'pending' OR NEW.workflow_id <> OLD.workflow_id)`;
const entersPending = `NEW.status = 'pending' AND (OLD.status <> 'pending' OR NEW.workflow_id <> OLD.workflow_id)`;

const sqliteIncrement = (row: 'NEW') =>
  `INSERT INTO workflow_queue_depth (workflow_id, pending) VALUES (${row}.workflow_id, 1)
     ON CONFLICT (workflow_id) DO UPDATE SET pending = workflow_queue_depth.pending + 1;`;
const sqliteDecrement = (row: 'OLD') => `UPDATE workflow_queue_depth SET pending = pending - 1 WHERE workflow_id = ${row}.workflow_id;`;

// `UPDATE OF status, workflow_id`: an update that sets neither (lease renewals, execution ids) fires
// nothing; one that sets status (a claim, a finish) costs a WHEN test unless pending is entered or left.
const sqliteTriggers = [
  `CREATE TRIGGER trg_queue_depth_insert AFTER INSERT ON event_queue WHEN NEW.status = 'pending'
   BEGIN ${sqliteIncrement('NEW')} END`,
  `CREATE TRIGGER trg_queue_depth_delete AFTER DELETE ON event_queue WHEN OLD.status = 'pending'
   BEGIN ${sqliteDecrement('OLD')} END`,
  `CREATE TRIGGER trg_queue_depth_leave AFTER UPDATE OF status, workflow_id ON event_queue WHEN ${leavesPending}
   BEGIN ${sqliteDecrement('OLD')} END`,
  `CREATE TRIGGER trg_queue_depth_enter AFTER UPDATE OF status, workflow_id ON event_queue WHEN ${entersPending}
   BEGIN ${sqliteIncrement('NEW')} END`,
];

// One plpgsql function serves all four triggers; each trigger's WHEN already decided what happened,
// so the function only needs TG_OP and the trigger's name to know which way to count.
const postgresTriggers = [
  `CREATE FUNCTION ${pgFunction}() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_NAME IN ('trg_queue_depth_delete', 'trg_queue_depth_leave') THEN
       UPDATE workflow_queue_depth SET pending = pending - 1 WHERE workflow_id = OLD.workflow_id;
       RETURN OLD;
     END IF;
     INSERT INTO workflow_queue_depth AS d (workflow_id, pending) VALUES (NEW.workflow_id, 1)
       ON CONFLICT (workflow_id) DO UPDATE SET pending = d.pending + 1;
     RETURN NEW;
   END
   $$`,
  `CREATE TRIGGER trg_queue_depth_insert AFTER INSERT ON event_queue
   FOR EACH ROW WHEN (NEW.status = 'pending') EXECUTE FUNCTION ${pgFunction}()`,
  `CREATE TRIGGER trg_queue_depth_delete AFTER DELETE ON event_queue
   FOR EACH ROW WHEN (OLD.status = 'pending') EXECUTE FUNCTION ${pgFunction}()`,
  `CREATE TRIGGER trg_queue_depth_leave AFTER UPDATE OF status, workflow_id ON event_queue
   FOR EACH ROW WHEN (${leavesPending}) EXECUTE FUNCTION ${pgFunction}()`,
  `CREATE TRIGGER trg_queue_depth_enter AFTER UPDATE OF status, workflow_id ON event_queue
   FOR EACH ROW WHEN (${entersPending}) EXECUTE FUNCTION ${pgFunction}()`,
];
