/**
 * The command line: a function of argv, environment and writers, so tests run it in-process.
 * Errors a user can cause print one message (and its hint) without a stack trace; a stack
 * trace shows only with --debug.
 */

import { Command, CommanderError, Option } from 'commander';
import { TfaError } from '../errors.js';
// Each command's module is imported inside its action, so that a run loads only the code of
// the command it runs: validate never loads the API client, the store or the planner. The
// emulator command's module is small (it imports the emulator itself when it runs), and its
// help text is needed while the program is built.
import { emulatorCommand, FAULTS_HELP } from './commands/emulator.js';
import type { MigrateFlags } from './commands/store.js';
import type { CliIo } from './io.js';
import { styleFor } from './io.js';
import { addFleetOptions, formatOption, rotateOption } from './fleet-options.js';
import { type GlobalOptions, parseCount, parseRetry, parseStaleAfter } from './options.js';

export const VERSION = '0.1.0';

function globals(command: Command): GlobalOptions {
  const all = command.optsWithGlobals() as Partial<GlobalOptions> & { retry?: number };
  return {
    ...(all.url ? { url: all.url } : {}),
    ...(all.apiKey ? { apiKey: all.apiKey } : {}),
    retry: all.retry ?? 4,
    explain: all.explain === true,
    debug: all.debug === true,
  };
}

function buildProgram(io: CliIo, stdoutIsTerminal: boolean, setCode: (code: number) => void): Command {
  const program = new Command('tfa-gitops')
    .description('Keep the 2FA methods of Vast.ai accounts equal to a YAML manifest.')
    .version(VERSION)
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .option('--url <url>', 'API server URL (default: VAST_URL, then https://console.vast.ai)')
    .option('--api-key <key>', 'API key for accounts without apiKey in the manifest (default: VAST_API_KEY, then the vastai key file)')
    .addOption(new Option('--retry <n>', 'extra attempts for a request that failed with a retryable error').argParser(parseRetry).default(4))
    .option('--explain', 'log every request and response to stderr, with secrets redacted')
    .option('--debug', 'show stack traces for errors');

  const fileOption = () => new Option('-f, --file <path...>', 'manifest files or folders; repeat or list several (default: tfa-gitops.yaml)');

  program
    .command('validate')
    .description('check the manifest without contacting any account')
    .addOption(fileOption())
    .action(async (flags: { file?: string[] }) => {
      const { validateCommand } = await import('./commands/validate.js');
      setCode(await validateCommand(flags.file, io));
    });

  const plan = program
    .command('plan')
    .description('show the changes apply would make')
    .addOption(fileOption())
    .addOption(formatOption('plan'))
    .addOption(new Option('--json', 'print the plan as JSON (the same as --format json)'))
    .option('--out <file>', 'also save the plan, without secrets, for "tfa-gitops apply FILE" (mode 0600)')
    .addOption(rotateOption())
    .addOption(
      new Option('--max-deletes <n>', 'warn when the plan removes more than this many methods from one account, where apply would stop')
        .argParser(parseCount('--max-deletes'))
        .default(1),
    )
    .option('--detailed-exitcode', 'exit 2 when there are changes, 0 when there are none');
  addFleetOptions(plan).action(async (flags, command: Command) => {
    const { planCommand } = await import('./commands/plan.js');
    setCode(await planCommand(flags, globals(command), io, stdoutIsTerminal));
  });

  const apply = program
    .command('apply')
    .description('change the accounts to match the manifest, or apply a plan saved by "plan --out"')
    .argument('[plan-file]', 'a plan saved by "tfa-gitops plan --out"; applies exactly that plan, once, without asking')
    .addOption(fileOption())
    .option('--auto-approve', 'apply without asking (needed without a terminal)')
    .addOption(rotateOption())
    .addOption(
      new Option('--max-deletes <n>', 'stop when the plan removes more than this many methods from one account')
        .argParser(parseCount('--max-deletes'))
        .default(1),
    );
  addFleetOptions(apply).action(async (planFile: string | undefined, flags, command: Command) => {
    const { applyCommand } = await import('./commands/apply.js');
    setCode(await applyCommand(planFile, flags, globals(command), io, stdoutIsTerminal));
  });

  const drift = program
    .command('drift')
    .description('report how the accounts differ from the manifest, changing nothing')
    .addOption(fileOption())
    .addOption(formatOption('report'))
    .addOption(new Option('--stale-after <days>', 'also report methods not used (or, never used, not added) for more than DAYS days').argParser(parseStaleAfter))
    .option('--detailed-exitcode', 'exit 2 when an account has drifted, 0 when none has');
  addFleetOptions(drift).action(async (flags, command: Command) => {
    const { driftCommand } = await import('./commands/drift.js');
    setCode(await driftCommand(flags, globals(command), io, stdoutIsTerminal));
  });

  program
    .command('import')
    .description("print a manifest for an account's live 2FA state")
    .requiredOption('--account <name>', 'the account name to write in the manifest')
    .option('--store <url>', 'the store to look for seeds in', 'file://.tfa-gitops/secrets.age')
    .action(async (flags, command: Command) => {
      const { importCommand } = await import('./commands/import.js');
      setCode(await importCommand(flags, globals(command), io));
    });

  program
    .command('unlock')
    .description("remove an account's apply lock that a killed or lost run left behind")
    .argument('<account>', 'the account name in the manifest')
    .addOption(fileOption())
    .option('--force', 'remove the lock even when its holder still runs on this host')
    .action(async (account: string, flags) => {
      const { unlockCommand } = await import('./commands/unlock.js');
      setCode(await unlockCommand(account, flags, io));
    });

  const storeCommand = program
    .command('store')
    .description('work with secret stores');
  storeCommand
    .command('migrate')
    .description('copy every record from one secret store to another, and read each copy back')
    .requiredOption('--from <url>', 'the store to copy from: a path, file://PATH, vault://MOUNT/PATH, exec://COMMAND or env://PREFIX')
    .requiredOption('--to <url>', 'the store to copy to; env:// is read-only')
    .option('--force', 'replace destination records that differ from the source')
    .option('--account <name...>', 'copy only these accounts (repeatable)')
    .action(async (flags: MigrateFlags) => {
      const { storeMigrateCommand } = await import('./commands/store.js');
      setCode(await storeMigrateCommand(flags, io));
    });

  storeCommand
    .command('retire')
    .description("after a 2FA reset outside tfa-gitops, mark the account's stored seeds retired and its backup codes used")
    .argument('<account>', 'the account name in the manifest')
    .addOption(fileOption())
    .action(async (account: string, flags) => {
      const { storeRetireCommand } = await import('./commands/store-retire.js');
      setCode(await storeRetireCommand(account, flags, io));
    });

  storeCommand
    .command('set-api-key')
    .description('keep an API key, read from standard input, in the record NAME of the secret store')
    .argument('<name>', 'the record name that the manifest names in apiKey: { store: NAME }')
    .addOption(fileOption())
    .option('--store <url>', 'the store to write to (default: the manifest\'s store)')
    .action(async (name: string, flags) => {
      const { setApiKeyCommand } = await import('./commands/store-api-key.js');
      setCode(await setApiKeyCommand(name, flags, io));
    });

  program
    .command('emulator')
    .description('serve an emulator of the Vast.ai 2FA API for trying manifests and for tests')
    .option('--port <n>', 'port to listen on (0 picks a free one)', '8080')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--state <file>', 'load and save the emulator state in this JSON file')
    .option('--faults <spec>', 'inject 503s, 429s, latency and dropped connections (syntax below)')
    .addHelpText('after', FAULTS_HELP)
    .action(async (flags) => setCode(await emulatorCommand(flags, io)));

  return program;
}

/** Formats an error for stderr: one message, the hint, and the stack only when asked. */
export function formatError(error: unknown, debug: boolean): string {
  if (error instanceof TfaError) {
    const lines = [`Error: ${error.message}`];
    if (error.hint) lines.push(`  ${error.hint}`);
    if (debug && error.stack) lines.push(error.stack);
    return `${lines.join('\n')}\n`;
  }
  let text = String(error);
  if (error instanceof Error) text = debug ? (error.stack ?? error.message) : error.message;
  return `Error: ${text}\n${debug ? '' : '  (run with --debug for details)\n'}`;
}

export async function run(argv: string[], io: CliIo, stdoutIsTerminal = false): Promise<number> {
  let code = 0;
  const program = buildProgram(io, stdoutIsTerminal, (value) => {
    code = value;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const debug = argv.includes('--debug');
    io.stderr.write(styleFor(io, false).red(formatError(error, debug)));
    return error instanceof TfaError ? error.exitCode : 1;
  }
}
