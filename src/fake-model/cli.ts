/** `agentgate fake-model [--port N] [--host H]`: serves the fake model until SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { startFakeModel } from './server.ts';

export async function runFakeModelCli(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`--port must be an integer between 0 and 65535, got ${values.port}`);
  }
  const model = await startFakeModel({ port, host: values.host });
  process.stdout.write(`fake model listening on ${model.url}\n`);

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await model.close();
}
