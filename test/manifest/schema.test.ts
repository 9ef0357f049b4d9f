import { describe, expect, it } from 'vitest';
import { manifestJsonSchema } from '../../src/manifest/index.js';

type Schema = Record<string, unknown> & {
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  additionalProperties?: Schema | boolean;
};

describe('manifestJsonSchema', () => {
  const schema = JSON.parse(JSON.stringify(manifestJsonSchema())) as Schema;
  const [list, mapping] = schema.properties?.jobs?.anyOf ?? [];
  const job = list?.items;

  it('is a titled draft-07 JSON Schema that survives JSON round-tripping', () => {
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.title).toBe('jobrun manifest');
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(['jobs']); // version is optional (1)
    expect(schema.additionalProperties).toBe(false);
  });

  it('describes jobs and their keys', () => {
    expect(list).toMatchObject({ type: 'array', minItems: 1 });
    expect(job?.required).toEqual(['name', 'run']);
    // or a mapping of name → job, the key naming the job
    expect(mapping).toMatchObject({ type: 'object', minProperties: 1 });
    const entry = mapping?.additionalProperties as Schema;
    expect(entry.required).toEqual(['run']);
    expect(entry.properties?.name).toBeUndefined();
    expect(entry.properties?.needs).toEqual(job?.properties?.needs);
    expect(job?.additionalProperties).toBe(false);
    for (const key of [
      'name',
      'run',
      'for_each',
      'needs',
      'timeout',
      'retries',
      'backoff',
      'env',
      'allow_failure',
    ]) {
      expect(job?.properties?.[key]?.description, key).toEqual(expect.any(String));
    }
  });

  it('accepts durations as strings or numbers (the input side of the transforms)', () => {
    expect(job?.properties?.timeout?.type).toEqual(['string', 'number']);
    expect(job?.properties?.retries).toMatchObject({ type: 'integer', minimum: 0 });
    expect(schema.properties?.version).toMatchObject({ const: 1 });
  });
});
