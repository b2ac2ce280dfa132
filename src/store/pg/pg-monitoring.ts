// The monitoring family of the PostgreSQL adapter: which workflows have their triggers armed, and each
// trigger's persisted state (MonitoringStore), the twin of store/sqlite/sqlite-monitoring.ts.
import { isoAt } from '../../domain/clock.js';
import type { MonitoringStore, TriggerState } from '../monitoring-store.js';
import { PgFamily } from './pg-family.js';
import * as monitoring from './pg-monitoring-sql.js';

/** Monitoring flags and trigger state on PostgreSQL. */
export class PgMonitoring extends PgFamily implements MonitoringStore {
  startMonitoring(workflowId: string) {
    return this.writer.write((trx) => monitoring.startMonitoring(trx, workflowId, isoAt(this.clock.now())));
  }

  stopMonitoring(workflowId: string) {
    return this.writer.write((trx) => monitoring.stopMonitoring(trx, workflowId, isoAt(this.clock.now())));
  }

  getMonitoring(workflowId: string) {
    return monitoring.selectMonitoring(this.db, workflowId);
  }

  listMonitoringWorkflowIds() {
    return monitoring.selectMonitoringWorkflowIds(this.db);
  }

  triggerStates(workflowId: string) {
    return monitoring.selectTriggerStates(this.db, workflowId);
  }

  saveTriggerState(workflowId: string, nodeId: string, state: TriggerState) {
    return this.writer.write((trx) => monitoring.upsertTriggerState(trx, workflowId, nodeId, state, isoAt(this.clock.now())));
  }
}
