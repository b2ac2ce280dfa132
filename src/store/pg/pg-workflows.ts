// The workflows family of the PostgreSQL adapter: workflow definitions (WorkflowStore), the twin of
// store/sqlite/sqlite-workflows.ts.
import { isoAt } from '../../domain/clock.js';
import type { WorkflowInput, WorkflowListFilter, WorkflowStore } from '../workflow-store.js';
import { PgFamily } from './pg-family.js';
import * as workflows from './pg-workflow-sql.js';

/** Workflow definitions on PostgreSQL. */
export class PgWorkflows extends PgFamily implements WorkflowStore {
  createWorkflow(id: string, input: WorkflowInput) {
    return this.writer.write((trx) => workflows.insertWorkflow(trx, id, input, isoAt(this.clock.now())));
  }

  updateWorkflow(id: string, input: WorkflowInput) {
    return this.writer.write((trx) => workflows.updateWorkflow(trx, id, input, isoAt(this.clock.now())));
  }

  deleteWorkflow(id: string) {
    return this.writer.write((trx) => workflows.deleteWorkflow(trx, id));
  }

  getWorkflow(id: string) {
    return workflows.selectWorkflow(this.db, id);
  }

  workflowExists(id: string) {
    return workflows.workflowExists(this.db, id);
  }

  listWorkflows(limit: number, offset: number, filter: WorkflowListFilter = {}) {
    return workflows.selectWorkflows(this.db, limit, offset, filter);
  }

  countWorkflows(filter: WorkflowListFilter = {}) {
    return workflows.countWorkflows(this.db, filter);
  }
}
