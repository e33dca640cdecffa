#!/usr/bin/env node
// Loads the TypeScript entry point through tsx in this same process, so the package
// needs no build step and signals (SIGTERM drain, SIGHUP reload) reach the server.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
