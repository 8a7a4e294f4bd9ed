#!/usr/bin/env node
import { nsqToFileMain } from '../tools/nsq-to-file/index.js';

void nsqToFileMain(process.argv.slice(2));
