/** Command-line options shared by the commands that work on many accounts: plan, apply, drift. */

import { type Command, Option } from 'commander';
import { collect, DEFAULT_PARALLELISM, OUTPUT_FORMATS, parseParallelism } from './options.js';
import { parseShard } from './selection.js';

export function addFleetOptions(command: Command): Command {
  return command
    .addOption(new Option('--account <pattern>', 'only accounts whose name matches; * and ? are wildcards; repeat for several').argParser(collect))
    .addOption(new Option('--shard <k/n>', 'only the K-th of N stable shares of the accounts, chosen by a hash of the name (e.g. 2/4)').argParser(parseShard))
    .addOption(new Option('--parallelism <n>', 'accounts read or changed at once').argParser(parseParallelism).default(DEFAULT_PARALLELISM))
    .option('--quiet', 'show no progress on stderr');
}

export function formatOption(what: string): Option {
  // No commander default: plan must tell an explicit --format from none to allow --json.
  return new Option('--format <format>', `how to print the ${what} (default: human)`).choices(OUTPUT_FORMATS);
}

export function rotateOption(): Option {
  return new Option('--rotate <account/label>', 'enroll a new seed for a TOTP method and remove the old one; repeat for several').argParser(collect);
}
