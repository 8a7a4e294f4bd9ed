import { RecordRing } from '../../src/native/fallback/ring-buffer.js';
import { ringBufferSuite } from '../conformance/ring-buffer.suite.js';

ringBufferSuite('typescript', (max) => new RecordRing(max));
