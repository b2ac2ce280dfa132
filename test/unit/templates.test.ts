// Template rendering (semantics §3): system values, references into the trigger and shared outputs,
// TAV source objects, and the variable key a node is known by.
import { expect } from 'chai';
import type { Json } from '../../workers/node-contract.js';
import { renderConfig, renderTemplate, variableKey, type TemplateScope } from '../../src/engine/templates.js';

// 2025-03-04 05:06:07.890 UTC.
const now = Date.UTC(2025, 2, 4, 5, 6, 7, 890);

const scope: TemplateScope = {
  trigger: { name: 'Ada', items: [{ id: 1, tags: ['a', 'b'] }, { id: 2, tags: [] }], count: 3, ok: true, none: null },
  variables: {
    fetch: { response: { user: { email: 'ada@example.com' } }, status_code: 200 },
    year: { value: 'from a node named Year' },
  },
};

const render = (text: string) => renderTemplate(text, scope, now);

describe('templates', () => {
  describe('variableKey', () => {
    it('uses variable_name when set', () => {
      expect(variableKey({ node_id: 'n1', name: 'Fetch', variable_name: 'custom' })).to.equal('custom');
    });

    it('derives the key from the name: lower-cased, spaces to _, other characters dropped', () => {
      expect(variableKey({ node_id: 'n1', name: 'My Node #2' })).to.equal('my_node_2');
      expect(variableKey({ node_id: 'n1', name: 'Fetch Users', variable_name: null })).to.equal('fetch_users');
      expect(variableKey({ node_id: 'n1', name: 'Café-Öß' })).to.equal('caf');
    });

    it('falls back to node_id when the name leaves nothing', () => {
      expect(variableKey({ node_id: 'node_7', name: '###' })).to.equal('node_7');
      expect(variableKey({ node_id: 'node_8' })).to.equal('node_8');
      expect(variableKey({ node_id: 'node_9', name: 'x', variable_name: '' })).to.equal('x');
    });
  });

  describe('renderTemplate', () => {
    it('returns a string without braces as it is', () => {
      expect(render('plain text')).to.equal('plain text');
      expect(render('')).to.equal('');
    });

    it('resolves trigger and variable references inside text', () => {
      expect(render('Hello {{trigger.name}}!')).to.equal('Hello Ada!');
      expect(render('mail {{fetch.response.user.email}} ({{fetch.status_code}})')).to.equal('mail ada@example.com (200)');
    });

    it('walks list indices and nested paths', () => {
      expect(render('id={{trigger.items.1.id}} tag={{trigger.items.0.tags.1}}')).to.equal('id=2 tag=b');
    });

    it('trims whitespace inside the braces', () => {
      expect(render('Hi {{  trigger.name }}')).to.equal('Hi Ada');
    });

    it('renders numbers, booleans and null as their JSON text inside text', () => {
      expect(render('{{trigger.count}}/{{trigger.ok}}/{{trigger.none}}')).to.equal('3/true/null');
    });

    it('renders objects and lists inside text as JSON', () => {
      expect(render('tags: {{trigger.items.0.tags}}')).to.equal('tags: ["a","b"]');
      expect(render('user: {{fetch.response.user}}')).to.equal('user: {"email":"ada@example.com"}');
    });

    it('leaves unresolved references verbatim, spacing included', () => {
      expect(render('a {{ missing.x }} b {{trigger.nope}} c {{trigger.items.9}} d {{trigger.items.first}}'))
        .to.equal('a {{ missing.x }} b {{trigger.nope}} c {{trigger.items.9}} d {{trigger.items.first}}');
      expect(render('{{trigger.name.first}}')).to.equal('{{trigger.name.first}}');
    });

    it('does not reach prototype properties', () => {
      expect(render('{{trigger.constructor}} {{toString}}')).to.equal('{{trigger.constructor}} {{toString}}');
    });

    it('returns the value itself when the whole string is one reference', () => {
      expect(render('{{trigger.items}}')).to.deep.equal([{ id: 1, tags: ['a', 'b'] }, { id: 2, tags: [] }]);
      expect(render('{{ trigger.count }}')).to.equal(3);
      expect(render('{{trigger.ok}}')).to.equal(true);
      expect(render('{{trigger.none}}')).to.equal(null);
      expect(render('{{trigger}}')).to.equal(scope.trigger);
    });

    it('returns a string when a lone reference is unresolved or has other text around it', () => {
      expect(render('{{trigger.missing}}')).to.equal('{{trigger.missing}}');
      expect(render(' {{trigger.count}}')).to.equal(' 3');
      expect(render('{{trigger.count}}{{trigger.count}}')).to.equal('33');
    });

    it('resolves system values in UTC at the injected time', () => {
      expect(render('{current_date}|{current_time}|{current_datetime}')).to.equal('2025-03-04|05:06:07|2025-03-04 05:06:07');
      expect(render('{timestamp}')).to.equal(String(Math.floor(now / 1000)));
      expect(render('{year}-{month}-{day} {hour}:{minute}:{second}')).to.equal('2025-03-04 05:06:07');
    });

    it('resolves system values before references', () => {
      const dated: TemplateScope = { trigger: { '2025': 'this year' }, variables: {} };
      expect(renderTemplate('{{trigger.{year}}}', dated, now)).to.equal('this year');
    });

    it('keeps the double-brace {{year}} form a reference to a variable of that key', () => {
      expect(render('{{year.value}} / {{year}}')).to.equal('from a node named Year / {"value":"from a node named Year"}');
    });

    it('leaves unknown single-brace words alone', () => {
      expect(render('{foo} and {Year} and {current_date}')).to.equal('{foo} and {Year} and 2025-03-04');
    });
  });

  describe('renderConfig', () => {
    it('renders strings at every depth, keeping other values', () => {
      const config: Record<string, Json> = {
        text: 'Hello {{trigger.name}}',
        items: '{{trigger.items.0.tags}}',
        nested: { deep: ['{{trigger.count}}', 'on {current_date}', 5, false, null] },
        count: 10,
      };
      expect(renderConfig(config, scope, now)).to.deep.equal({
        text: 'Hello Ada',
        items: ['a', 'b'],
        nested: { deep: [3, 'on 2025-03-04', 5, false, null] },
        count: 10,
      });
    });

    it('resolves literal source objects to their value, unrendered', () => {
      const config: Record<string, Json> = { a: { source: 'literal', value: '{{trigger.name}}' }, b: { source: 'literal' } };
      expect(renderConfig(config, scope, now)).to.deep.equal({ a: '{{trigger.name}}', b: null });
    });

    it('resolves variable source objects by any reference field, null when unresolved', () => {
      const config: Record<string, Json> = {
        a: { source: 'variable', variable: 'trigger.items.1' },
        b: { source: 'variable', name: 'fetch.status_code' },
        c: { source: 'variable', path: '{{ trigger.name }}' },
        d: { source: 'variable', value: 'trigger.ok' },
        e: { source: 'variable', variable: 'nobody.here' },
      };
      expect(renderConfig(config, scope, now)).to.deep.equal({ a: { id: 2, tags: [] }, b: 200, c: 'Ada', d: true, e: null });
    });

    it('resolves template source objects by rendering their template', () => {
      const config: Record<string, Json> = {
        a: { source: 'template', template: 'Hi {{trigger.name}} on {current_date}' },
        b: { source: 'template', value: '{{trigger.count}}' },
      };
      expect(renderConfig(config, scope, now)).to.deep.equal({ a: 'Hi Ada on 2025-03-04', b: 3 });
    });

    it('renders objects with another or no source as ordinary objects', () => {
      const config: Record<string, Json> = { a: { source: 'database', q: '{{trigger.name}}' }, b: { source: 1, q: '{{trigger.count}}' } };
      expect(renderConfig(config, scope, now)).to.deep.equal({ a: { source: 'database', q: 'Ada' }, b: { source: 1, q: 3 } });
    });

    it('never mutates its input', () => {
      const config: Record<string, Json> = {
        text: '{{trigger.name}}',
        list: ['{{trigger.count}}', { inner: '{year}' }],
        src: { source: 'variable', variable: 'trigger.name' },
      };
      const before = structuredClone(config);
      const rendered = renderConfig(config, scope, now);
      expect(config).to.deep.equal(before);
      expect(rendered.list).to.not.equal(config.list);
    });

    it('keeps a __proto__ key a plain key', () => {
      const config = JSON.parse('{"__proto__": {"x": "{{trigger.name}}"}}') as Record<string, Json>;
      const rendered = renderConfig(config, scope, now);
      expect(Object.getPrototypeOf(rendered)).to.equal(Object.prototype);
      expect(Object.getOwnPropertyDescriptor(rendered, '__proto__')?.value).to.deep.equal({ x: 'Ada' });
    });
  });
});
