// file_polling_trigger: a source node. The folder watch is armed by the trigger registry
// (src/triggers/file-poller.ts); when its event runs the workflow, this node hands on the file.
import type { Json, NodeModule } from '../node-contract.js';
import { triggerField, triggerObject } from './trigger-data.js';

/** The file_polling_trigger node: outputs `file` (metadata; a list in batch mode) and `file_name`. */
export const node: NodeModule = {
  definition: {
    type: 'file_polling_trigger',
    category: 'triggers',
    description: 'Fires when a complete file matching file_pattern appears in watch_folder while the workflow is monitoring; outputs the file metadata and its name.',
    inputs: [],
    outputs: [{ name: 'file' }, { name: 'file_name' }],
    config: [
      { name: 'watch_folder', type: 'string', required: true },
      { name: 'file_pattern', type: 'string', default: '*' },
      { name: 'polling_interval', type: 'number', default: 10 },
      { name: 'recursive', type: 'boolean', default: false },
      { name: 'trigger_mode', type: 'string', default: 'per_file' },
      { name: 'ignore_existing', type: 'boolean', default: true },
      { name: 'move_processed_files', type: 'boolean', default: false },
      { name: 'processed_folder_suffix', type: 'string', default: '_processed' },
    ],
    isolation: 'batched',
  },
  run(task) {
    // Batch events carry `files`; per-file events `file` and `file_name`.
    const files = triggerField(task.trigger, 'files', null);
    const file = triggerField(task.trigger, 'file', files);
    return { file, file_name: triggerField(task.trigger, 'file_name', nameOf(file)) };
  },
};

function nameOf(file: Json): Json {
  if (Array.isArray(file)) return file.map(nameOf);
  const object = triggerObject(file);
  return object && typeof object.name === 'string' ? object.name : null;
}
