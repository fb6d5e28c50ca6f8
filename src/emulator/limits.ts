/** Limits and timings of the emulated service, in seconds unless the name says otherwise. */

/** An SMS or email challenge expires this long after it was created. */
export const CHALLENGE_TTL_SECONDS = 10 * 60;

/** How long a successful authorization lets the account add methods. */
export const AUTHORIZATION_WINDOW_SECONDS = 30 * 60;

/** Wrong codes in a row before a method locks. */
export const MAX_FAILURES_SMS = 3;
export const MAX_FAILURES_TOTP = 5;

/** Wrong codes before an email challenge (or an SMS enrollment challenge) is discarded. */
export const MAX_FAILURES_PER_CHALLENGE = 3;

/** How long a locked method stays locked. */
export const LOCK_SECONDS = 15 * 60;

/** A second send to one number within this time gets `tfa_challenge_exists`. */
export const SMS_RESEND_GUARD_SECONDS = 60;

/** At most this many SMS sends (resends included) per number in `SMS_RATE_WINDOW_SECONDS`. */
export const SMS_MAX_SENDS_PER_WINDOW = 5;
export const SMS_RATE_WINDOW_SECONDS = 60 * 60;

/** TOTP parameters: SHA-1 (otplib's default), 6 digits, 30-second step. */
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;

/** Maximum length of a method label, in characters (Unicode code points). */
export const MAX_LABEL_LENGTH = 30;

/** Expired challenges are kept this long, so that using one gets `2fa_expired`, then dropped. */
export const CHALLENGE_RETENTION_SECONDS = 24 * 60 * 60;
