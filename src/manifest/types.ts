/** The desired state, as the manifest gives it, after validation. */

/** 1-based line and column of a YAML node, with the file it came from. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** The source of a secret value (an API key). */
export type SecretSource =
  | { env: string }
  | { file: string }
  | { store: string };

/** The code provider that brings emailed or SMS codes to the tool. */
export type CodeProviderSpec =
  | { kind: 'prompt' }
  | { kind: 'env'; name: string }
  | { kind: 'command'; command: string; timeoutSeconds: number };

export type VerifierKind = 'totp' | 'sms' | 'email' | 'backupCode';

export interface DesiredTotpMethod {
  type: 'totp';
  label: string;
  /** True when the manifest marks the method primary. */
  primary: boolean;
  rotateAfterDays?: number;
  position: SourcePosition;
}

export interface DesiredSmsMethod {
  type: 'sms';
  label: string;
  primary: boolean;
  /** E.164, e.g. "+12125551234". */
  phone: string;
  codes: CodeProviderSpec;
  position: SourcePosition;
}

export type DesiredMethod = DesiredTotpMethod | DesiredSmsMethod;

export interface DesiredAccount {
  name: string;
  /** Absent: the global `--api-key`, `VAST_API_KEY` or the vastai key file. */
  apiKey?: SecretSource;
  emailCodes?: CodeProviderSpec;
  methods: DesiredMethod[];
  backupCodes?: { minRemaining: number };
  unmanaged: 'report' | 'delete';
  /** Order in which verifiers are tried; defaults to totp, sms, email, backupCode. */
  verifyWith: VerifierKind[];
  allowDisable: boolean;
  /** The folder relative paths and provider commands of this account resolve against. */
  baseDir: string;
  position: SourcePosition;
}

export interface Manifest {
  /** The manifest files read, in the order read. */
  files: string[];
  /** Store URL with relative file paths resolved, e.g. `file:///abs/.tfa-gitops/secrets.age`. */
  store: string;
  accounts: DesiredAccount[];
}
