/** Global options, shared by every command. */

export interface GlobalOptions {
  url?: string;
  apiKey?: string;
  retry: number;
  explain: boolean;
  debug: boolean;
}

export const DEFAULT_URL = 'https://console.vast.ai';
export const DEFAULT_MANIFEST = 'tfa-gitops.yaml';

export function parseRetry(value: string): number {
  const count = Number(value);
  if (!Number.isInteger(count) || count < 0 || count > 20) {
    throw new Error(`--retry takes a whole number from 0 to 20, got "${value}"`);
  }
  return count;
}
