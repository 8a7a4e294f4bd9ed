/**
 * nsq-ts client: Producer (one nsqd), ProducerPool (several, with failover) and Consumer (many
 * nsqds, direct or through nsqlookupd), wire-compatible with NSQ 1.x and behaving like go-nsq.
 */
export { Consumer, type ConsumerEvents, type ConsumerStats } from './consumer.js';
export { Producer, type MessageBody, type ProducerEvents } from './producer.js';
export { ProducerPool, type PoolNodeStatus, type ProducerPoolEvents, type ProducerPoolOptions } from './producer-pool.js';
export { Message } from './message.js';
export { NsqError, isConnectionFailure, isFatalErrorCode, type NsqLibraryErrorCode } from './errors.js';
export {
  CLIENT_VERSION,
  checkOption,
  defaultClientConfig,
  resolveConfig,
  type BackoffStrategy,
  type ClientConfig,
  type ClientLogger,
  type ClientLogLevel,
  type ClientOptions,
  type ClientOptionsCamel,
  type ClientOptionsSnake,
  type ClientTlsOptions,
  type DurationInput,
} from './config.js';
export { buildLookupUrl, parseLookupResponse, producerAddresses, type LookupdProducer } from './lookupd.js';
export { FrameReader, type FrameSink } from './frame-reader.js';
