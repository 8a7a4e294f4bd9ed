#!/usr/bin/env node
import { nsqToHttpMain } from '../tools/nsq-to-http/index.js';

void nsqToHttpMain(process.argv.slice(2));
