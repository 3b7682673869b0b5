/** Terminal session recording: asciicast v2 writer, signed seal, reader/recovery, text index. */
export { AsciicastRecorder, fileIo, type OpenRecordingOptions, openRecording, type RecordingIo, type RecordingResult } from './asciicast.js';
export { keyIdOf, loadSigningKey, type SigningKey, SigningKeyError, signingKeyFrom, verifySignature } from './keys.js';
export {
  type AsciicastEvent, type AsciicastHeader, type ParsedRecording, parseRecordingStream, type RecoveredRecording, RecordingFormatError,
  readRecording, recoverRecording, type SealInterruptedResult, sealInterruptedRecording,
} from './reader.js';
export { canonicalJson, MANIFEST_FORMAT, manifestPathFor, type RecordingManifest, type VerifyFailure, type VerifyResult, verifyRecording } from './seal.js';
export { extractText, indexRecording, type TextIndex, TextIndexer, type TextIndexOptions } from './text-index.js';
