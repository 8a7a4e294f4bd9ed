#!/usr/bin/env node
import { NSQLookupd, VERSION } from '../nsqlookupd/nsqlookupd.js';
import { nsqlookupdFlagSpecs, type NsqlookupdOptions } from '../nsqlookupd/options.js';
import { runDaemon } from './run.js';

runDaemon<NsqlookupdOptions>('nsqlookupd', nsqlookupdFlagSpecs(), VERSION, (o) => new NSQLookupd(o));
