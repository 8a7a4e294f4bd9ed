#!/usr/bin/env node
import { NSQAdmin, VERSION } from '../nsqadmin/nsqadmin.js';
import { nsqadminFlagSpecs, type NsqadminOptions } from '../nsqadmin/options.js';
import { runDaemon } from './run.js';

runDaemon<NsqadminOptions>('nsqadmin', nsqadminFlagSpecs(), VERSION, (o) => new NSQAdmin(o));
