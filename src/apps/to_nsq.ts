#!/usr/bin/env node
import { toNsqMain } from '../tools/to-nsq.js';

void toNsqMain(process.argv.slice(2));
