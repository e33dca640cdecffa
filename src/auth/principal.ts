/** Who is calling: the user id comes only from the credential, never from a request body. */
export interface Principal {
  userId: string;
  isAdmin: boolean;
  /** Which credential proved it, for logs and /status (never the secret itself). */
  via: 'env_key' | 'stored_key' | 'hmac_token' | 'surface_token';
}

const USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** User ids become directory names (`users/<id>`), so they are held to safe characters. */
export function isValidUserId(id: string): boolean {
  return USER_ID.test(id) && id !== '.' && id !== '..';
}
