import { tsIoExecutor } from '../../src/native/fallback/io-executor.js';
import { segmentWriterSuite } from '../conformance/segment-writer.suite.js';
import { nativeForTests } from '../helpers/native.js';

segmentWriterSuite('typescript', tsIoExecutor);
const native = nativeForTests();
if (native !== null) segmentWriterSuite('native', native.io);
