import { fallbackBackend } from '../../src/native/fallback/index.js';
import { frameParserSuite } from '../conformance/frame-parser.suite.js';
import { nativeForTests } from '../helpers/native.js';

frameParserSuite('typescript', fallbackBackend);
const native = nativeForTests();
if (native !== null) frameParserSuite('native', native);
