/** The embeddable nsqlookupd: `new NSQLookupd(options)`, `await start()`, `await close()`. */
export { NSQLookupd, VERSION, type NSQLookupdInit } from './nsqlookupd.js';
export { defaultNsqlookupdOptions, nsqlookupdFlagSpecs, type NsqlookupdOptions } from './options.js';
export { Producer, RegistrationDB, type PeerInfo, type Registration } from './registration-db.js';
/** One nsqd's TCP connection (see NSQLookupd.clients). */
export type { LookupConnection } from './tcp.js';
