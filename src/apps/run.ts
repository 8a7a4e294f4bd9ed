import { loadConfigFile, resolveOptions } from '../internal/config.js';
import { parseFlags, type FlagSpec } from '../internal/flags.js';

/** What a binary's main needs from its flag table and config file. */
export interface AppOptions<T> {
  options: T;
  config: string;
  version: boolean;
}

/**
 * Parse argv with Go flag semantics and merge `--config` TOML (flag > config file > default).
 * Prints usage and exits 0 for -h, 2 for a bad flag, 1 for a bad config file.
 */
export function parseAppOptions<T extends object>(program: string, specs: readonly FlagSpec[], argv: readonly string[]): AppOptions<T> {
  const parsed = parseFlags(program, specs, argv);
  if (parsed.kind === 'help') {
    process.stderr.write(parsed.usage);
    process.exit(0);
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`${parsed.message}\n${parsed.usage}`);
    process.exit(2);
  }
  const config = String(parsed.values.config ?? '');
  let fileValues: Record<string, unknown> = {};
  if (config !== '') {
    try {
      fileValues = loadConfigFile(config);
    } catch (err) {
      process.stderr.write(`FATAL: failed to load config file ${config} - ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  let options: T;
  try {
    options = resolveOptions<T>(specs, parsed, fileValues);
  } catch (err) {
    process.stderr.write(`FATAL: ${(err as Error).message}\n`);
    process.exit(1);
  }
  return { options, config, version: parsed.values.version === true };
}

/**
 * Run a daemon until SIGINT/SIGTERM, then close it gracefully; a second signal exits at once.
 */
export function runUntilSignal(close: () => Promise<void>, log: (msg: string) => void): void {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) {
      log(`received ${sig} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`error while closing - ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
