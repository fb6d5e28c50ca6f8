// Types of src/manifest/generated/manifest-validator.cjs, which scripts/build-validators.mjs
// compiles from schemas/manifest.schema.json. The generated file is not committed, so
// TypeScript cannot read its types from it.
import type { ErrorObject } from 'ajv';

/**
 * Validates plain data (a parsed YAML document) against the manifest schema. Returns true
 * when it is valid; otherwise sets `errors`, which are verbose (`schema`, `parentSchema` and
 * `data` are set) and cover every problem found, not only the first.
 */
export interface ManifestValidateFunction {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

export declare const validateManifest: ManifestValidateFunction;
