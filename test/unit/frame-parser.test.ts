import { fallbackBackend } from '../../src/native/fallback/index.js';
import { frameParserSuite } from '../conformance/frame-parser.suite.js';

frameParserSuite('typescript', fallbackBackend);
