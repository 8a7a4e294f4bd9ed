/** The embeddable nsqd: `new Nsqd(options)`, `await start()`, `await close()`. */
export { Nsqd, VERSION, type NsqdInit } from './nsqd.js';
export { defaultNsqdOptions, nsqdFlagSpecs, type NsqdOptions } from './options.js';
