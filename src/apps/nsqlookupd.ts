#!/usr/bin/env node
import { NSQLookupd, VERSION } from '../nsqlookupd/nsqlookupd.js';
import { nsqlookupdFlagSpecs, type NsqlookupdOptions } from '../nsqlookupd/options.js';
import { parseAppOptions, runUntilSignal } from './run.js';

const { options, version } = parseAppOptions<NsqlookupdOptions & { config: string; version: boolean; verbose: boolean }>(
  'nsqlookupd',
  nsqlookupdFlagSpecs(),
  process.argv.slice(2),
);
if (version) {
  process.stdout.write(`nsqlookupd v${VERSION} (built w/${process.version})\n`);
  process.exit(0);
}
const { config: _config, version: _version, verbose: _verbose, ...opts } = options;

const nsqlookupd = new NSQLookupd(opts);
runUntilSignal(() => nsqlookupd.close(), (m) => nsqlookupd.logger.info(m));
nsqlookupd.start().catch((err: unknown) => {
  nsqlookupd.logger.fatal(`failed to instantiate nsqlookupd - ${(err as Error).message}`);
  process.exit(1);
});
