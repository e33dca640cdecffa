import { chmodSync, mkdirSync } from 'node:fs';

/**
 * DATA_DIR holds every tenant's workspaces, the key store, stored objects and the model
 * login: no other user of the machine may read any of it. The directory itself is 0700,
 * and the process umask makes everything created below it afterwards (by this server, the
 * SQLite library, the storage code, agent processes) 0600 files and 0700 directories,
 * whatever mode each creator asked for. Called once, before anything opens DATA_DIR.
 */
export function prepareDataDir(dataDir: string): void {
  process.umask(0o077);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // An existing DATA_DIR from before keeps its files' old modes: closing the directory hides them.
  chmodSync(dataDir, 0o700);
}
