// Plug-in node kinds: ES modules in one configured folder, one node kind each. A plug-in that fails
// to load is reported and left out; it never stops the daemon or the other plug-ins.
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ConfigSpec, ConfigType, NodeDefinition, NodeIsolation, NodeModule, PortSpec } from './node-contract.js';
import { builtinNodes, testFixtureNodes } from './nodes/index.js';

/** Why one plug-in file was left out. */
export interface PluginProblem {
  file: string;
  message: string;
}

/** The plug-ins that loaded, and the files that did not. */
export interface LoadedPlugins {
  nodes: NodeModule[];
  problems: PluginProblem[];
}

const typePattern = /^[a-z][a-z0-9_]*$/;
const isolations: NodeIsolation[] = ['batched', 'shared', 'isolated'];
const configTypes: ConfigType[] = ['string', 'number', 'boolean', 'object', 'array', 'any'];
// Fixture types are reserved too: with test nodes enabled a clash would make the worker refuse to start.
const reservedTypes = new Set([...builtinNodes, ...testFixtureNodes].map((node) => node.definition.type));

/**
 * Imports every `*.js` / `*.mjs` file directly in `dir` (sorted by name) and keeps each whose `node`
 * export (else default export) is a valid node kind. Plug-ins without an isolation run `isolated`.
 */
export async function loadPlugins(dir: string): Promise<LoadedPlugins> {
  const folder = path.resolve(dir);
  const nodes: NodeModule[] = [];
  const problems: PluginProblem[] = [];
  let entries: Dirent[];
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (err) {
    return { nodes, problems: [{ file: folder, message: `cannot read the plug-in folder: ${messageOf(err)}` }] };
  }
  const taken = new Set(reservedTypes);
  const names = entries.filter((entry) => /\.m?js$/.test(entry.name)).map((entry) => entry.name).sort();
  for (const name of names) {
    const file = path.join(folder, name);
    try {
      if (!(await stat(file)).isFile()) continue;
      const loaded = toNodeModule(await importPlugin(file));
      if (taken.has(loaded.definition.type)) throw new Error(`node type "${loaded.definition.type}" is already taken`);
      taken.add(loaded.definition.type);
      nodes.push(loaded);
    } catch (err) {
      problems.push({ file, message: messageOf(err) });
    }
  }
  return { nodes, problems };
}

/** For the main thread: the definitions of the plug-ins in `dir`, from the same loader as the workers. */
export async function pluginDefinitions(dir: string): Promise<{ definitions: NodeDefinition[]; problems: PluginProblem[] }> {
  const { nodes, problems } = await loadPlugins(dir);
  return { definitions: nodes.map((node) => node.definition), problems };
}

async function importPlugin(file: string): Promise<unknown> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`import failed: ${messageOf(err)}`);
  }
  const candidate = module.node ?? module.default;
  if (candidate === undefined) throw new Error('the module exports neither `node` nor a default export');
  return candidate;
}

// Copies the definition as plain data (it crosses postMessage and is served by the API) and wraps
// `run` so the plug-in's object stays its `this`.
function toNodeModule(candidate: unknown): NodeModule {
  if (!isRecord(candidate)) throw new Error('the export is not an object');
  const { definition, run } = candidate;
  if (typeof run !== 'function') throw new Error('the export has no run function');
  if (!isRecord(definition)) throw new Error('the export has no definition object');
  const checked: NodeDefinition = {
    type: checkType(definition.type),
    category: checkText(definition.category, 'category'),
    description: checkText(definition.description, 'description'),
    inputs: checkPorts(definition.inputs, 'inputs'),
    outputs: checkPorts(definition.outputs, 'outputs'),
    config: checkConfig(definition.config),
    isolation: checkIsolation(definition.isolation),
  };
  const body = run as NodeModule['run'];
  return { definition: checked, run: (task, context) => body.call(candidate, task, context) };
}

function checkType(value: unknown): string {
  if (typeof value !== 'string' || !typePattern.test(value)) {
    throw new Error('definition.type must be lower-case letters, digits and _ (starting with a letter)');
  }
  return value;
}

function checkText(value: unknown, field: string): string {
  if (typeof value !== 'string') throw new Error(`definition.${field} must be a string`);
  return value;
}

function checkIsolation(value: unknown): NodeIsolation {
  if (value === undefined) return 'isolated';
  if (!isolations.includes(value as NodeIsolation)) throw new Error(`definition.isolation must be one of ${isolations.join(', ')}`);
  return value as NodeIsolation;
}

function checkPorts(value: unknown, field: string): PortSpec[] {
  if (!Array.isArray(value)) throw new Error(`definition.${field} must be an array`);
  return value.map((port: unknown, i) => {
    if (!isRecord(port) || typeof port.name !== 'string' || port.name === '') throw new Error(`definition.${field}[${i}] needs a name`);
    return port.required === true ? { name: port.name, required: true } : { name: port.name };
  });
}

function checkConfig(value: unknown): ConfigSpec[] {
  if (!Array.isArray(value)) throw new Error('definition.config must be an array');
  return value.map((spec: unknown, i) => {
    const where = `definition.config[${i}]`;
    if (!isRecord(spec) || typeof spec.name !== 'string' || spec.name === '') throw new Error(`${where} needs a name`);
    if (!configTypes.includes(spec.type as ConfigType)) throw new Error(`${where}.type must be one of ${configTypes.join(', ')}`);
    const checked: ConfigSpec = { name: spec.name, type: spec.type as ConfigType };
    if (spec.required === true) checked.required = true;
    if (spec.default !== undefined) checked.default = plainJson(spec.default, `${where}.default`);
    return checked;
  });
}

function plainJson(value: unknown, where: string): ConfigSpec['default'] {
  try {
    return JSON.parse(JSON.stringify(value)) as ConfigSpec['default'];
  } catch {
    throw new Error(`${where} must be JSON`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
