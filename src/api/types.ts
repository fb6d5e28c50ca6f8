/** Wire types of the Vast.ai 2FA API, named as the API names them. */

export type MethodType = 'totp' | 'sms';

/** A verification channel: the method types plus email, which is never a stored method. */
export type Channel = MethodType | 'email';

/** An active 2FA method as `GET /api/v0/tfa/status/` returns it. */
export interface LiveMethod {
  id: number;
  user_id: number;
  method: MethodType;
  label: string | null;
  /** SMS only, masked to the last four digits: "******1234". */
  phone_number?: string | null;
  is_primary: boolean;
  fail_count: number;
  /** Epoch seconds, or null when the method is not locked. */
  locked_until: number | null;
  /** Epoch seconds. */
  created_at: number;
  /** Epoch seconds (float), null until first use. */
  last_used: number | null;
}

export interface TfaStatus {
  tfa_enabled: boolean;
  methods: LiveMethod[];
  backup_codes_remaining: number;
  new_method_authorized: boolean;
}

/** The proof that login, delete and regenerate-backup-codes carry in their body. */
export type Verification =
  | { tfa_method: 'totp'; code: string; tfa_method_id?: number }
  | { tfa_method: 'sms' | 'email'; code: string; secret: string; tfa_method_id?: number }
  | { backup_code: string };

export type AuthorizeRequest =
  | { tfa_method: Channel; tfa_method_id?: number }
  | { tfa_method_id: number }
  | { backup_code: string };

export interface AuthorizeAnswer {
  success: true;
  /** The challenge token, present unless a backup code authorized in one step. */
  secret?: string;
  msg?: string;
}

export interface TotpSetupAnswer {
  secret: string;
  provisioning_uri: string;
}

export interface ChallengeAnswer {
  msg?: string;
  secret: string;
}

export type ConfirmNewRequest =
  | { tfa_method: 'totp'; code: string; secret: string; label?: string }
  | { tfa_method: 'sms'; code: string; secret: string; phone_number: string; label?: string };

export interface ConfirmNewAnswer {
  success: true;
  msg: string;
  /** Present only when the new method is the account's first: shown this once. */
  backup_codes?: string[];
}

export type UpdateRequest = ({ tfa_method_id: number } | { tfa_method: MethodType }) & {
  label?: string;
  is_primary?: boolean;
};

export interface UpdateAnswer {
  success: true;
  msg: string;
  method: LiveMethod;
}

export type DeleteRequest = Verification & { target_id?: number };

export interface DeleteAnswer {
  msg: string;
  remaining_methods?: number;
}

export interface RegenerateAnswer {
  msg: string;
  backup_codes: string[];
}

/** The body of every error answer. */
export interface ErrorBody {
  error: string;
  msg?: string;
  fail_count?: number;
  locked_until?: number | null;
  [key: string]: unknown;
}
