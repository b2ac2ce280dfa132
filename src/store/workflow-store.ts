// The storage port of workflow definitions. Part of `Store` (store.ts).
import type { Json } from '../../workers/node-contract.js';
import type { WorkflowData } from '../domain/workflow.js';

/** A workflow as stored. */
export interface WorkflowRecord {
  id: string;
  name: string;
  description: string | null;
  version: string;
  workflow_data: WorkflowData;
  tags: string[];
  author_id: number | null;
  execution_config: Record<string, Json>;
  status: string;
  is_active: boolean;
  is_template: boolean;
  template_category: string | null;
  last_execution_id: string | null;
  created_at: string;
  updated_at: string;
  last_run_at: string | null;
}

/** Fields a client may set on a workflow. */
export interface WorkflowInput {
  name: string;
  description: string | null;
  version: string;
  workflow_data: WorkflowData;
  tags: string[];
  execution_config: Record<string, Json>;
  is_active: boolean;
  is_template: boolean;
  template_category: string | null;
  author_id: number | null;
}

/** Workflow definitions. */
export interface WorkflowStore {
  createWorkflow(id: string, input: WorkflowInput): Promise<WorkflowRecord>;
  updateWorkflow(id: string, input: WorkflowInput): Promise<WorkflowRecord | null>;
  /** Deletes unless work is in flight; 'busy' when pending/processing events or running executions exist. */
  deleteWorkflow(id: string): Promise<'deleted' | 'missing' | 'busy'>;
  getWorkflow(id: string): Promise<WorkflowRecord | null>;
  /** Cheaper than getWorkflow when only existence matters (every enqueue asks). */
  workflowExists(id: string): Promise<boolean>;
  listWorkflows(limit: number, offset: number, filter?: WorkflowListFilter): Promise<WorkflowRecord[]>;
  countWorkflows(filter?: WorkflowListFilter): Promise<number>;
}

/** Which workflows a list shows; an absent field does not filter. */
export interface WorkflowListFilter {
  isTemplate?: boolean;
  templateCategory?: string;
}
