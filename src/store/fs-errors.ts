/** Returns whether `error` is a Node system error with one of the given codes (ENOENT, EEXIST, ...). */
export function isErrorCode(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' && codes.includes(error.code);
}

/** Returns the message of a file system error, such as "EACCES: permission denied, open '/path'". */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
