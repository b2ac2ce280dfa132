// What a trigger node outputs: the event's payload (its trigger data), read the same way whether the
// run came from the trigger itself or from a manual/API run that carried its own data.
import type { Json } from '../node-contract.js';

/** The trigger data as an object, or null when the run carried something else (text, a list, nothing). */
export function triggerObject(trigger: Json): { [key: string]: Json } | null {
  return typeof trigger === 'object' && trigger !== null && !Array.isArray(trigger) ? trigger : null;
}

/** The field `key` of the trigger data when present, else `fallback`. */
export function triggerField(trigger: Json, key: string, fallback: Json): Json {
  const object = triggerObject(trigger);
  return object && key in object ? object[key]! : fallback;
}
