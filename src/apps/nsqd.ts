#!/usr/bin/env node
import { Nsqd, VERSION } from '../nsqd/nsqd.js';
import { nsqdFlagSpecs, type NsqdOptions } from '../nsqd/options.js';
import { parseAppOptions, runUntilSignal, startupFatal } from './run.js';

const { options: opts, version, fromFlags } = parseAppOptions<NsqdOptions>('nsqd', nsqdFlagSpecs(), process.argv.slice(2));
if (version) {
  process.stdout.write(`nsqd v${VERSION} (built w/${process.version})\n`);
  process.exit(0);
}
// Go's FloatArray sorts the values given as flags, highest first; a config file's list keeps its order.
if (fromFlags.has('e2eProcessingLatencyPercentiles')) opts.e2eProcessingLatencyPercentiles = [...opts.e2eProcessingLatencyPercentiles].sort((a, b) => b - a);

let nsqd: Nsqd;
try {
  nsqd = new Nsqd(opts);
} catch (err) {
  startupFatal('nsqd', `failed to instantiate nsqd - ${(err as Error).message}`);
}
runUntilSignal(() => nsqd.close(), (m) => nsqd.logger.info(m));
nsqd.start().catch((err: unknown) => {
  nsqd.logger.fatal((err as Error).message);
  process.exit(1);
});
