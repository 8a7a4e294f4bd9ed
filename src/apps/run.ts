// What every binary shares (the nsqd / nsqlookupd daemons and NSQ's command-line tools): Go flag
// parsing that ends the process on -h (exit 0) or a bad flag (exit 2), `--config` TOML for the
// daemons, and SIGINT/SIGTERM handling where signals after the first are ignored (as Go's).
import { loadConfigFile, resolveOptions } from '../internal/config.js';
import { parseFlags, type FlagParseResult, type FlagSpec } from '../internal/flags.js';
import { errorText, formatLogTime, nowMs } from '../internal/log.js';

/** What a binary's main needs from its flag table and config file. */
export interface AppOptions<T> {
  options: T;
  config: string;
  version: boolean;
  /** The option keys the command line set (not the config file or a default). */
  fromFlags: ReadonlySet<string>;
}

/** Successfully parsed flags. */
export type ParsedFlags = Extract<FlagParseResult, { kind: 'ok' }>;

/**
 * Parse argv with Go flag semantics: -h prints the usage to stderr and exits 0, a bad or unknown
 * flag prints the error and the usage and exits 2 (flag.ExitOnError), a value whose parser calls
 * log.Fatalf in Go (FlagFatal) prints that line and exits 1.
 */
export function parseFlagsOrExit(program: string, specs: readonly FlagSpec[], argv: readonly string[]): ParsedFlags {
  const parsed = parseFlags(program, specs, argv);
  if (parsed.kind === 'help') {
    process.stderr.write(parsed.usage);
    process.exit(0);
  }
  if (parsed.kind === 'error') {
    process.stderr.write(`${parsed.message}\n${parsed.usage}`);
    process.exit(2);
  }
  if (parsed.kind === 'fatal') {
    // Go's standard logger: date and time to the second, no prefix.
    process.stderr.write(`${formatLogTime(nowMs()).slice(0, 19)} ${parsed.message}\n`);
    process.exit(1);
  }
  return parsed;
}

/**
 * Parse argv with Go flag semantics and merge `--config` TOML (flag > config file > default).
 * Prints usage and exits 0 for -h, 2 for a bad flag, 1 for a bad config file. The flags that are
 * not daemon options (`noConfig`: --config and --version, returned apart, and deprecated no-ops
 * such as --verbose) are left out of `options`.
 */
export function parseAppOptions<T extends object>(program: string, specs: readonly FlagSpec[], argv: readonly string[]): AppOptions<T> {
  const parsed = parseFlagsOrExit(program, specs, argv);
  const config = String(parsed.values.config ?? '');
  // As Go's mains: --version is answered before the config file is read.
  if (parsed.values.version === true) return { options: {} as T, config, version: true, fromFlags: parsed.explicit };
  let fileValues: Record<string, unknown> = {};
  if (config !== '') {
    try {
      fileValues = loadConfigFile(config);
    } catch (err) {
      startupFatal(program, errorText(err));
    }
  }
  let options: T;
  try {
    options = resolveOptions<T>(specs, parsed, fileValues);
  } catch (err) {
    startupFatal(program, errorText(err));
  }
  for (const s of specs) if (s.noConfig) delete (options as Record<string, unknown>)[s.key];
  return { options, config, version: false, fromFlags: parsed.explicit };
}

/**
 * A start-up error before the daemon's logger exists, as Go's lg.LogFatal writes it
 * (`[nsqd] 2006/01/02 15:04:05.000000 FATAL: <msg>`), then exit 1.
 */
export function startupFatal(program: string, msg: string): never {
  process.stderr.write(`[${program}] ${formatLogTime(nowMs())} FATAL: ${msg}\n`);
  process.exit(1);
}

/** What runDaemon starts: nsqlookupd or nsqadmin. */
export interface Daemon {
  readonly logger: { info(msg: string): void; fatal(msg: string): void };
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A daemon binary's main: flags and `--config`, `--version`, then `create(options)` started and
 * run until SIGINT/SIGTERM; a failed start is fatal (`failed to instantiate <name> - ...`, exit 1).
 */
export function runDaemon<T extends object>(name: string, specs: readonly FlagSpec[], version: string, create: (options: T) => Daemon): void {
  const parsed = parseAppOptions<T>(name, specs, process.argv.slice(2));
  if (parsed.version) {
    process.stdout.write(`${name} v${version} (built w/${process.version})\n`);
    process.exit(0);
  }
  const daemon = create(parsed.options);
  runUntilSignal(() => daemon.close(), (m) => daemon.logger.info(m));
  daemon.start().catch((err: unknown) => {
    daemon.logger.fatal(`failed to instantiate ${name} - ${(err as Error).message}`);
    process.exit(1);
  });
}

/**
 * Call `onFirst` on the first of `signals`; later ones are ignored while it runs, as NSQ's Go
 * binaries ignore them (go-svc reads its signal channel once), so a second Ctrl-C cannot cut a
 * graceful shutdown short and lose what it was saving. SIGKILL still ends the process.
 */
export function onSignals(signals: readonly NodeJS.Signals[], onFirst: (sig: NodeJS.Signals) => void): void {
  let seen = false;
  const handler = (sig: NodeJS.Signals): void => {
    if (seen) return;
    seen = true;
    onFirst(sig);
  };
  for (const s of signals) process.on(s, handler);
}

/** Run a daemon until SIGINT/SIGTERM, then close it gracefully (later signals are ignored). */
export function runUntilSignal(close: () => Promise<void>, log: (msg: string) => void): void {
  onSignals(['SIGINT', 'SIGTERM'], () => {
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log(`error while closing - ${(err as Error).message}`);
        process.exit(1);
      },
    );
  });
}
