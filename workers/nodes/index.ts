// The node kinds this worker can run: built-ins always, test fixtures only when the daemon enables them.
import type { NodeDefinition, NodeModule } from '../node-contract.js';
import { node as anomalyDetector } from './anomaly-detector.js';
import { node as csvReader } from './csv-reader.js';
import { node as csvWriter } from './csv-writer.js';
import { node as decision } from './decision.js';
import { node as delay } from './delay.js';
import { node as emailComposer } from './email-composer.js';
import { node as emailSender } from './email-sender.js';
import { node as eventLogger } from './event-logger.js';
import { node as testCrash } from './fixtures/test-crash.js';
import { node as testEcho } from './fixtures/test-echo.js';
import { node as testFail } from './fixtures/test-fail.js';
import { node as testGarbage } from './fixtures/test-garbage.js';
import { node as testHang } from './fixtures/test-hang.js';
import { node as testSlow } from './fixtures/test-slow.js';
import { node as httpRequest } from './http-request.js';
import { node as jsonParser } from './json-parser.js';
import { node as largeLanguageModel } from './large-language-model.js';
import { node as metricTracker } from './metric-tracker.js';
import { node as or } from './or.js';
import { node as filePollingTrigger } from './file-polling-trigger.js';
import { node as scheduleTrigger } from './schedule-trigger.js';
import { node as webhookTrigger } from './webhook-trigger.js';
import { node as textDisplay } from './text-display.js';
import { node as textInput } from './text-input.js';
import { node as virtualTime } from './virtual-time.js';

/** The built-in node kinds that run on the worker pool. */
export const builtinNodes: NodeModule[] = [
  textInput,
  textDisplay,
  jsonParser,
  httpRequest,
  delay,
  decision,
  or,
  virtualTime,
  metricTracker,
  anomalyDetector,
  eventLogger,
  csvReader,
  csvWriter,
  largeLanguageModel,
  emailComposer,
  emailSender,
  scheduleTrigger,
  webhookTrigger,
  filePollingTrigger,
];

/** One tiny node per failure mode (and two well-behaved helpers), for tests only. */
export const testFixtureNodes: NodeModule[] = [testFail, testHang, testCrash, testGarbage, testSlow, testEcho];

/** The definitions of the pool's node kinds, with the test fixtures when asked. */
export function nodeDefinitions(includeFixtures: boolean): NodeDefinition[] {
  const nodes = includeFixtures ? [...builtinNodes, ...testFixtureNodes] : builtinNodes;
  return nodes.map((node) => node.definition);
}
