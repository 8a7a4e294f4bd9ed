import { RecordRing } from '../../src/native/record-ring.js';
import { tsRecordCodec } from '../../src/native/fallback/record-codec.js';
import { ringBufferSuite } from '../conformance/ring-buffer.suite.js';
import { nativeForTests } from '../helpers/native.js';

ringBufferSuite('typescript', (max) => new RecordRing(max, tsRecordCodec));
const native = nativeForTests();
if (native !== null) ringBufferSuite('native', (max) => new RecordRing(max, native.records));
