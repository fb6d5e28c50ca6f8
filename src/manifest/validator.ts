/** The precompiled manifest schema validator, loaded on first use. */
import { createRequire } from 'node:module';

import type { ErrorObject } from 'ajv';

import type * as ValidatorModule from './manifest-validator.cjs';

const require = createRequire(import.meta.url);

let validator: ValidatorModule.ManifestValidateFunction | undefined;

/**
 * Validates plain manifest data against schemas/manifest.schema.json and returns every
 * problem found; an empty list means the data is valid. Loads the validator that
 * scripts/build-validators.mjs generated; the schema is never compiled at run time.
 */
export function validateManifestData(data: unknown): ErrorObject[] {
  const validate = loadValidator();
  if (validate(data)) return [];
  return validate.errors ?? [];
}

function loadValidator(): ValidatorModule.ManifestValidateFunction {
  if (validator !== undefined) return validator;

  try {
    const module = require('./generated/manifest-validator.cjs') as typeof ValidatorModule;
    validator = module.validateManifest;
  } catch (error) {
    // A missing file is a broken build, not a user error, so it is not a TfaError.
    throw new Error('the manifest validator is missing; run `npm run build` to generate it', { cause: error });
  }
  return validator;
}
