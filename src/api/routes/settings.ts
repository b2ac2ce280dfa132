// GET /api/v1/settings[/:category] and PUT /api/v1/settings/:category: values are checked against the
// catalog (400 naming each refused key with its allowed range, never clamped), written with their
// audit record in one transaction, and the engine's cached settings reloaded at once.
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import type { Json } from '../../../workers/node-contract.js';
import { isSettingCategory, validateSettingsChange } from '../../domain/setting-validation.js';
import { defaultSettingsByCategory, settingCategories, type SettingCategory } from '../../domain/settings-catalog.js';
import { badRequest, notFound } from '../../errors.js';
import type { ApiDeps } from '../api-deps.js';
import type { AuthState } from '../auth.js';
import { readJsonBody } from '../request-body.js';
import { requestIdOf } from '../request-id.js';
import { parseOrThrow } from '../validation.js';

// The catalog has fewer than 30 keys per category; a larger body is a mistake, not a change.
const changeBody = z
  .record(z.string().min(1).max(128), z.json())
  .refine((values) => Object.keys(values).length >= 1, 'name at least one setting')
  .refine((values) => Object.keys(values).length <= 100, 'at most 100 settings at once');

/** Routes under /api/v1/settings. */
export function settingsRoutes(deps: ApiDeps): Router {
  const router = new Router();

  router.get('/settings', async (ctx) => {
    ctx.body = await currentSettings(deps);
  });

  router.get('/settings/:category', async (ctx) => {
    const category = requireCategory(ctx.params.category!);
    ctx.body = { category, settings: (await currentSettings(deps))[category] };
  });

  router.put('/settings/:category', async (ctx: Koa.Context) => {
    const category = requireCategory(ctx.params.category!);
    const body = await readJsonBody(ctx, deps.settings().maxContentLengthBytes);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('validation_failed', 'the body must be a JSON object of {key: value}');
    const values = parseOrThrow(changeBody, body, 'settings change') as Record<string, Json>;
    const problems = validateSettingsChange(category, values);
    if (problems.length > 0) throw badRequest('invalid_settings', `${problems.length} setting(s) refused: ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`, problems);
    const key = (ctx.state as AuthState).apiKey;
    const changes = await deps.store.updateSettings(category, values, { userId: key.user_id, apiKeyId: key.id, requestId: requestIdOf(ctx) ?? null });
    if (changes.length > 0) {
      // Engine settings apply from the next claim or run; a raised capacity is used at once.
      await deps.reloadSettings();
      deps.wakeDispatcher();
    }
    ctx.body = { category, settings: (await currentSettings(deps))[category], changes };
  });

  return router;
}

/** The settings table over the catalog defaults, every category present. */
async function currentSettings(deps: ApiDeps): Promise<Record<SettingCategory, Record<string, unknown>>> {
  const settings = defaultSettingsByCategory();
  for (const [category, values] of Object.entries(await deps.store.loadSettings())) {
    if (isSettingCategory(category)) Object.assign(settings[category], values);
  }
  return settings;
}

function requireCategory(category: string): SettingCategory {
  if (!isSettingCategory(category)) throw notFound('setting category', `${category} (categories: ${settingCategories.join(', ')})`);
  return category;
}
