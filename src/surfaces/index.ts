import type { Surface } from '../app.ts';
import { healthSurface } from './health/index.ts';

/** Every protocol surface the server serves, in registration order. */
export const allSurfaces: readonly Surface[] = [healthSurface];
