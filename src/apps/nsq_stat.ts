#!/usr/bin/env node
import { nsqStatMain } from '../tools/nsq-stat.js';

nsqStatMain(process.argv.slice(2));
