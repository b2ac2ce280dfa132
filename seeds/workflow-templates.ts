// The example workflow templates shipped as JSON in seeds/templates/ (TAV format, one file each).
// Each has a fixed id: the seed inserts a template only when no workflow has that id, so a restart
// never duplicates one and an operator's edits are never overwritten.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { z } from 'zod';

/** One template file as it sits in seeds/templates/. */
export interface TemplateFile {
  id: string;
  name: string;
  description: string;
  template_category: string;
  tags: string[];
  execution_config: Record<string, unknown>;
  workflow_data: Record<string, unknown>;
}

const templateFileSchema = z.strictObject({
  id: z.uuid(),
  name: z.string().min(1).max(255),
  description: z.string().min(1),
  template_category: z.string().min(1).max(64),
  tags: z.array(z.string().max(64)).default([]),
  execution_config: z.record(z.string(), z.unknown()).default({}),
  workflow_data: z.record(z.string(), z.unknown()),
});

/**
 * The folder of template files. tsc does not copy JSON into dist/, so the compiled seed
 * (dist/seeds/) reads the source folder two levels up; run from source, it sits beside this module.
 */
export function templatesDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'templates'), path.resolve(here, '../../seeds/templates')];
  const found = candidates.find((dir) => fs.existsSync(dir));
  if (!found) throw new Error(`workflow templates folder not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Reads and checks every template file, sorted by file name; a malformed file throws naming it. */
export function readTemplateFiles(dir = templatesDir()): TemplateFile[] {
  const names = fs.readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
  const templates = names.map((name) => {
    const parsed = templateFileSchema.safeParse(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')));
    if (!parsed.success) throw new Error(`workflow template ${name} is malformed: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  });
  const ids = new Set(templates.map((template) => template.id));
  if (ids.size !== templates.length) throw new Error(`workflow templates in ${dir} share an id`);
  return templates;
}

/** Inserts each shipped template whose id is not in `workflows` yet; rows that exist are left alone. */
export async function seedWorkflowTemplates(knex: Knex, now: string, authorId: number): Promise<void> {
  const rows = readTemplateFiles().map((template) => ({
    id: template.id,
    name: template.name,
    description: template.description,
    version: '1.0.0',
    workflow_data: JSON.stringify(template.workflow_data),
    tags: JSON.stringify(template.tags),
    author_id: authorId,
    execution_config: JSON.stringify(template.execution_config),
    status: 'na',
    // A template is a starting point, not something the operator meant to run as it is.
    is_active: false,
    is_template: true,
    template_category: template.template_category,
    created_at: now,
    updated_at: now,
  }));
  if (rows.length === 0) return;
  await knex('workflows').insert(rows).onConflict(['id']).ignore();
}
