import type { FastifyInstance } from 'fastify';
import type { StorageContext } from './context.ts';

export async function registerStorageMcp(_app: FastifyInstance, _ctx: StorageContext): Promise<void> {}
