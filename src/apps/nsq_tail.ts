#!/usr/bin/env node
import { nsqTailMain } from '../tools/nsq-tail.js';

void nsqTailMain(process.argv.slice(2));
