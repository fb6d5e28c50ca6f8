import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';

import { validateManifestData } from '../src/manifest/validator.js';

const schemaUrl = new URL('../../schemas/manifest.schema.json', import.meta.url);

type SchemaNode = Record<string, unknown>;

/** Calls `visit` with the JSON Pointer of every schema under a `properties` keyword. */
function eachProperty(node: unknown, pointer: string, visit: (schema: SchemaNode, pointer: string) => void): void {
  if (typeof node !== 'object' || node === null) return;

  for (const [keyword, value] of Object.entries(node)) {
    if (keyword === 'properties' && typeof value === 'object' && value !== null) {
      for (const [name, property] of Object.entries(value)) {
        if (typeof property === 'object' && property !== null) visit(property as SchemaNode, `${pointer}/properties/${name}`);
      }
    }
    eachProperty(value, `${pointer}/${keyword}`, visit);
  }
}

describe('manifest schema', () => {
  test('identifier and draft', async () => {
    const schema = JSON.parse(await readFile(schemaUrl, 'utf8')) as SchemaNode;

    assert.equal(schema['$schema'], 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema['$id'], 'https://tfa-gitops.dev/schemas/manifest.schema.json');
  });

  test('declared properties documented', async () => {
    const schema = JSON.parse(await readFile(schemaUrl, 'utf8')) as SchemaNode;
    const undocumented: string[] = [];

    eachProperty(schema, '#', (property, pointer) => {
      // Properties inside if/then branches only narrow ones declared, and documented, elsewhere.
      if (pointer.includes('/if/') || pointer.includes('/then/')) return;
      if (typeof property['title'] !== 'string' || typeof property['description'] !== 'string') undocumented.push(pointer);
    });

    assert.deepEqual(undocumented, []);
  });

  test('validator rejects extra keys', () => {
    const valid = {
      apiVersion: 'tfa-gitops/v1',
      kind: 'TwoFactorManifest',
      accounts: [{ name: 'a', methods: [{ label: 'x', type: 'totp' }] }],
    };

    assert.deepEqual(validateManifestData(valid), []);
    const errors = validateManifestData({ ...valid, extra: true });
    assert.deepEqual(errors.map((error) => [error.keyword, error.params]), [
      ['additionalProperties', { additionalProperty: 'extra' }],
    ]);
  });
});
