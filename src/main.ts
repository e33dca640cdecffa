import { runKeysCli } from './auth/keys-cli.ts';
import { ConfigError, ConfigSource, readEnvironment } from './config/index.ts';
import { runDoctorCli } from './doctor/index.ts';
import { runFakeModelCli } from './fake-model/cli.ts';
import { serve } from './server.ts';

const USAGE = `usage: agentgate [serve]                 run the server (default)
       agentgate fake-model [--port N]   run the scripted fake Anthropic API
       agentgate keys create --user NAME [--admin] [scope flags] | list | show ID
                     | update ID [scope flags] | rotate ID [--grace-s N] | revoke ID
       agentgate doctor [--json]         check this machine and configuration for a deployment`;

async function main(argv: string[]): Promise<void> {
  const [command = 'serve', ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(ConfigSource.fromProcess());
    case 'fake-model':
      return runFakeModelCli(rest);
    case 'keys':
      return runKeysCli(ConfigSource.fromProcess(), rest);
    case 'doctor':
      process.exitCode = await runDoctorCli(readEnvironment(), rest);
      return;
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}\n`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  // A bad setting is one clear line naming the variable, not a stack trace.
  if (err instanceof ConfigError) process.stderr.write(`agentgate: ${err.message}\n`);
  else
    process.stderr.write(`agentgate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
