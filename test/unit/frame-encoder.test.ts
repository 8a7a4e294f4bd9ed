import { tsFrameEncoder } from '../../src/native/fallback/frame-encoder.js';
import { frameEncoderSuite } from '../conformance/frame-encoder.suite.js';
import { nativeForTests } from '../helpers/native.js';

frameEncoderSuite('typescript', tsFrameEncoder);
const native = nativeForTests();
if (native !== null) frameEncoderSuite('native', native.frameEncoder);
