/** Errors the domain raises; the HTTP layer maps each kind to a status and a problem+json body. */
export type ErrorKind =
  | 'validation'
  | 'unauthorized'
  | 'forbidden'
  | 'password_change_required'
  | 'mfa_required'
  | 'not_found'
  | 'conflict'
  | 'unprocessable'
  /** Another part of the system did not answer in time (e.g. the gateway node holding a session). */
  | 'unavailable';

export interface FieldError {
  /** Where the problem is: a JSON pointer ("/accessMethods/0/port") or "row 3, column port". */
  path: string;
  message: string;
  row?: number;
  column?: string;
}

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const notFound = (what: string, key: string) => new DomainError('not_found', `${what} "${key}" does not exist`);
export const conflict = (message: string) => new DomainError('conflict', message);
export const invalid = (message: string, errors: FieldError[] = []) => new DomainError('validation', message, errors);
