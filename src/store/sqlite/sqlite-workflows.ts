// The workflows family of the SQLite adapter: workflow definitions (WorkflowStore).
import type { WorkflowInput, WorkflowListFilter, WorkflowStore } from '../workflow-store.js';
import { SqliteFamily } from './sqlite-family.js';
import * as workflows from './workflow-sql.js';

/** Workflow definitions on SQLite. */
export class SqliteWorkflows extends SqliteFamily implements WorkflowStore {
  createWorkflow(id: string, input: WorkflowInput) {
    return this.writer.write((db) => workflows.insertWorkflow(db, id, input, this.clock.now()));
  }

  updateWorkflow(id: string, input: WorkflowInput) {
    return this.writer.write((db) => workflows.updateWorkflow(db, id, input, this.clock.now()));
  }

  deleteWorkflow(id: string) {
    return this.writer.write((db) => workflows.deleteWorkflow(db, id));
  }

  async getWorkflow(id: string) {
    return workflows.selectWorkflow(this.readDb, id);
  }

  async workflowExists(id: string) {
    return workflows.workflowExists(this.readDb, id);
  }

  async listWorkflows(limit: number, offset: number, filter: WorkflowListFilter = {}) {
    return workflows.selectWorkflows(this.readDb, limit, offset, filter);
  }

  async countWorkflows(filter: WorkflowListFilter = {}) {
    return workflows.countWorkflows(this.readDb, filter);
  }
}
