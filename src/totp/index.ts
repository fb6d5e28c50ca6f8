export { systemClock, type Clock } from './clock.js';
export { TotpCodeSource, type TotpCode, type TotpCodeSourceOptions } from './code-source.js';
export { MAX_SEED_BYTES, MIN_SEED_BYTES, normalizeSeed } from './seed.js';
export { generateTotp, TOTP_STEP_SECONDS, totpStep, verifyTotp, type TotpAlgorithm, type TotpOptions } from './totp.js';
