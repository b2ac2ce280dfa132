// A file_polling_trigger on a real daemon: monitoring arms the folder watch, a file dropped into the
// watch folder runs the workflow exactly once with the file's metadata as its trigger data, and with
// move_processed_files the file ends up in the processed folder.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, removeIfAllPassed } from '../helpers/api-assertions.js';
import { getExecution } from '../helpers/workflow-runs.js';
import { executionsBy, monitoringStatus, setMonitoring } from '../helpers/triggers.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

/** watch (file_polling_trigger on `inbox`, relative to the data folder) → say (names the file). */
const watching = () =>
  workflowBody(
    'watch inbox',
    [
      node('watch', 'file_polling_trigger', { watch_folder: 'inbox', file_pattern: '*.csv', polling_interval: 0.2, move_processed_files: true }),
      node('say', 'text_input', { text: 'got {{trigger.file_name}} ({{trigger.file.size}} bytes)' }),
    ],
    [link('watch', 'file', 'say', 'input')],
  );

describe('file polling trigger on the daemon', function () {
  let daemon: TestDaemon;

  before(async function () {
    daemon = await startDaemon();
  });

  after(async function () {
    if (!daemon) return;
    await daemon.stop('SIGTERM');
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  it('runs the workflow once per dropped file and moves the file to the processed folder', async function () {
    const inbox = path.join(daemon.dataDir, 'inbox');
    const processed = `${inbox}_processed`;
    fs.mkdirSync(inbox);
    fs.writeFileSync(path.join(inbox, 'before.csv'), 'there before monitoring\n');
    const workflowId = await createWorkflow(daemon, watching());
    const status = await setMonitoring(daemon, workflowId, 'start');
    expect(status.triggers).to.have.length(1);
    expect(status.triggers[0]).to.include({ node_id: 'watch', kind: 'file_polling', armed: true });

    fs.writeFileSync(path.join(inbox, 'orders.csv'), 'id,total\n1,9.50\n');
    fs.writeFileSync(path.join(inbox, 'ignored.txt'), 'not a csv');
    const first = await waitFor(async () => {
      const runs = await executionsBy(daemon, workflowId, 'file_polling');
      return runs.length === 1 && runs[0].status === 'completed' ? runs[0] : null;
    }, 'the dropped file to run the workflow');
    const execution = await getExecution(daemon, first.id);
    const trigger = execution.trigger_data;
    expect(trigger).to.include({ source: 'file_polling', execution_count: 1, file_name: 'orders.csv' });
    expect(trigger.file).to.include({
      name: 'orders.csv',
      size: 16,
      extension: '.csv',
      mime_type: 'text/csv',
      path: path.join(processed, 'orders.csv'),
      original_path: path.join(inbox, 'orders.csv'),
    });
    expect(execution.node_results.say.outputs.text).to.equal('got orders.csv (16 bytes)');
    expect(fs.readFileSync(path.join(processed, 'orders.csv'), 'utf8')).to.equal('id,total\n1,9.50\n');
    expect(fs.existsSync(path.join(inbox, 'orders.csv'))).to.equal(false);

    // A second drop runs once more; the first file (and the ones that never matched) did not fire again meanwhile.
    fs.writeFileSync(path.join(inbox, 'returns.csv'), 'id\n7\n');
    const runs = await waitFor(async () => {
      const all = await executionsBy(daemon, workflowId, 'file_polling');
      return all.length >= 2 && all.every((run: any) => run.status === 'completed') ? all : null;
    }, 'the second file to run the workflow');
    const fired = await Promise.all(runs!.map(async (run: any) => (await getExecution(daemon, run.id)).trigger_data.file_name));
    expect(fired.sort()).to.deep.equal(['orders.csv', 'returns.csv']);
    expect(fs.existsSync(path.join(processed, 'returns.csv'))).to.equal(true);
    expect(fs.existsSync(path.join(inbox, 'before.csv')), 'a file there before monitoring stays').to.equal(true);
    expect(fs.existsSync(path.join(inbox, 'ignored.txt'))).to.equal(true);
    expect((await monitoringStatus(daemon, workflowId)).triggers[0].execution_count).to.equal(2);
  });
});
