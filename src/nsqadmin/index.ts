export { NSQAdmin, VERSION, type NSQAdminInit } from './nsqadmin.js';
export { defaultNsqadminOptions, nsqadminFlagSpecs, type NsqadminOptions } from './options.js';
