// The monitoring family of the SQLite adapter: which workflows have their triggers armed, and each
// trigger's persisted state (MonitoringStore).
import type { MonitoringStore, TriggerState } from '../monitoring-store.js';
import * as monitoring from './monitoring-sql.js';
import { SqliteFamily } from './sqlite-family.js';

/** Monitoring flags and trigger state on SQLite. */
export class SqliteMonitoring extends SqliteFamily implements MonitoringStore {
  startMonitoring(workflowId: string) {
    return this.writer.write((db) => monitoring.startMonitoring(db, workflowId, this.clock.now()));
  }

  stopMonitoring(workflowId: string) {
    return this.writer.write((db) => monitoring.stopMonitoring(db, workflowId, this.clock.now()));
  }

  async getMonitoring(workflowId: string) {
    return monitoring.selectMonitoring(this.readDb, workflowId);
  }

  async listMonitoringWorkflowIds() {
    return monitoring.selectMonitoringWorkflowIds(this.readDb);
  }

  async triggerStates(workflowId: string) {
    return monitoring.selectTriggerStates(this.readDb, workflowId);
  }

  saveTriggerState(workflowId: string, nodeId: string, state: TriggerState) {
    return this.writer.write((db) => monitoring.upsertTriggerState(db, workflowId, nodeId, state, this.clock.now()));
  }
}
