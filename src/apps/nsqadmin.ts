#!/usr/bin/env node
import { NSQAdmin, VERSION } from '../nsqadmin/nsqadmin.js';
import { nsqadminFlagSpecs, type NsqadminOptions } from '../nsqadmin/options.js';
import { parseAppOptions, runUntilSignal } from './run.js';

const { options, version } = parseAppOptions<NsqadminOptions & { config: string; version: boolean; verbose: boolean }>(
  'nsqadmin',
  nsqadminFlagSpecs(),
  process.argv.slice(2),
);
if (version) {
  process.stdout.write(`nsqadmin v${VERSION} (built w/${process.version})\n`);
  process.exit(0);
}
const { config: _config, version: _version, verbose: _verbose, ...opts } = options;

const nsqadmin = new NSQAdmin(opts);
runUntilSignal(() => nsqadmin.close(), (m) => nsqadmin.logger.info(m));
nsqadmin.start().catch((err: unknown) => {
  nsqadmin.logger.fatal(`failed to instantiate nsqadmin - ${(err as Error).message}`);
  process.exit(1);
});
