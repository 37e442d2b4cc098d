// SPDX-License-Identifier: Apache-2.0
// The directive reference cannot drift from the module's command table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (f) => readFileSync(path.join(root, f), 'utf8');
const directives = [...read('mod_items/mod_items_config.c').matchAll(/AP_INIT_\w+\("(Items\w+)"/g)]
  .map((m) => m[1]).sort();

test('the command table has directives', () => {
  assert.ok(directives.length >= 10, directives.join(' '));
});

test('docs/directives.md documents every directive like the httpd manual', () => {
  const doc = read('docs/directives.md');
  const documented = [...doc.matchAll(/^## (Items\w+)$/gm)].map((m) => m[1]).sort();
  assert.deepEqual(documented, directives);
  for (const name of directives) {
    const section = doc.split(`## ${name}\n`)[1].split('\n## ')[0];
    for (const field of ['Description', 'Syntax', 'Default', 'Context', 'Module']) {
      assert.match(section, new RegExp(`^\\| ${field} \\| .+ \\|$`, 'm'), `${name}: ${field}`);
    }
    assert.match(section, new RegExp(`^\\| Syntax \\| \`${name}\\b`, 'm'), `${name}: syntax`);
  }
});

test('the README lists every directive', () => {
  const readme = read('README.md');
  for (const name of directives) {
    assert.match(readme, new RegExp(`\`${name}\\b`), name);
  }
});
