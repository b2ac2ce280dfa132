// Checks a settings change against the catalog: every problem is reported with the range or values
// the key accepts, and nothing is ever clamped into range on the caller's behalf.
import { findSetting, settingCategories, settingsCatalog, type SettingCategory, type SettingDefinition } from './settings-catalog.js';

/** One refused key of a settings change. */
export interface SettingProblem {
  key: string;
  message: string;
  /** What the key accepts, e.g. "integer 1–200" or "one of stop_on_error, continue_on_error". */
  allowed: string;
}

/** True when `category` is one of the catalog's categories. */
export function isSettingCategory(category: string): category is SettingCategory {
  return (settingCategories as readonly string[]).includes(category);
}

/** Every problem of `values` as a change to `category`; empty when the whole change is acceptable. */
export function validateSettingsChange(category: SettingCategory, values: Record<string, unknown>): SettingProblem[] {
  const problems: SettingProblem[] = [];
  for (const [key, value] of Object.entries(values)) {
    const definition = findSetting(category, key);
    if (!definition) {
      problems.push({ key, message: `unknown setting ${category}.${key}`, allowed: `a key of ${category}: ${knownKeys(category)}` });
      continue;
    }
    const message = valueProblem(definition, value);
    if (message !== null) problems.push({ key, message, allowed: describeAllowed(definition) });
  }
  return problems;
}

/** The accepted values of a setting in words, as a 400 names them. */
export function describeAllowed(definition: SettingDefinition): string {
  switch (definition.kind) {
    case 'integer':
      return `integer ${definition.min}–${definition.max}`;
    case 'number':
      return `number ${definition.min}–${definition.max}`;
    case 'enum':
      return `one of ${(definition.allowed ?? []).join(', ')}`;
    case 'boolean':
      return 'true or false';
    case 'string':
      return `text of 1–${maxTextLength} characters`;
    case 'array':
      return `a list of up to ${maxListItems} texts`;
    case 'object':
      return definition.key === 'providers' ? providersShape : 'a JSON object';
  }
}

const maxTextLength = 255;
const maxListItems = 100;
const providerFields = ['provider_type', 'base_url', 'default_model', 'credential_id', 'enabled'];
const providersShape = `an object {name: {${providerFields.join(', ')}}} with an http(s) base_url`;

function valueProblem(definition: SettingDefinition, value: unknown): string | null {
  switch (definition.kind) {
    case 'integer':
    case 'number':
      return numberProblem(definition, value);
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'enum':
      return typeof value === 'string' && (definition.allowed ?? []).includes(value) ? null : `must be one of ${(definition.allowed ?? []).join(', ')}`;
    case 'string':
      return typeof value === 'string' && value.length >= 1 && value.length <= maxTextLength ? null : `must be text of 1–${maxTextLength} characters`;
    case 'array':
      return Array.isArray(value) && value.length <= maxListItems && value.every((item) => typeof item === 'string' && item.length <= maxTextLength)
        ? null
        : `must be a list of up to ${maxListItems} texts`;
    case 'object':
      if (!isPlainObject(value)) return 'must be a JSON object';
      return definition.key === 'providers' ? providersProblem(value) : null;
  }
}

function numberProblem(definition: SettingDefinition, value: unknown): string | null {
  const integer = definition.kind === 'integer';
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    return `must be ${integer ? 'an integer' : 'a number'} from ${definition.min} to ${definition.max}`;
  }
  if ((definition.min !== undefined && value < definition.min) || (definition.max !== undefined && value > definition.max)) {
    return `${value} is out of range: must be from ${definition.min} to ${definition.max}`;
  }
  return null;
}

// Provider keys belong in credentials; a field outside the documented ones (an `api_key`, say) is
// refused so a secret never lands in the plain-text settings table.
function providersProblem(providers: Record<string, unknown>): string | null {
  for (const [name, provider] of Object.entries(providers)) {
    if (!isPlainObject(provider)) return `provider ${name} must be an object`;
    const extra = Object.keys(provider).filter((field) => !providerFields.includes(field));
    if (extra.length > 0) return `provider ${name} has unknown field(s) ${extra.join(', ')}; secrets belong in credentials`;
    if (typeof provider.base_url !== 'string' || !/^https?:\/\/\S+$/.test(provider.base_url)) return `provider ${name} needs an http(s) base_url`;
    if (provider.enabled !== undefined && typeof provider.enabled !== 'boolean') return `provider ${name}: enabled must be true or false`;
  }
  return null;
}

function knownKeys(category: SettingCategory): string {
  const keys = settingsCatalog.filter((setting) => setting.category === category).map((setting) => setting.key);
  return keys.length > 0 ? keys.join(', ') : '(none)';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

