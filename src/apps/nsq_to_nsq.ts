#!/usr/bin/env node
import { nsqToNsqMain } from '../tools/nsq-to-nsq/index.js';

void nsqToNsqMain(process.argv.slice(2));
