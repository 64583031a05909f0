export * from './close-codes.ts';
export * from './messages.ts';
export * from './limits.ts';
export {
  CLOUD_PREFIX,
  SCRATCH_CLOUD_PREFIXES,
  checkUsername,
  isNumberText,
  isValidRoom,
  isValidScratchVariableName,
  isValidValue,
  isValidVariableName,
  projectIdToRoom,
} from './values.ts';
export { STRING_MARK, isNumberWriting, readStoredValue, storeText, storeValue, storedText, storedValueJson, typedVariables } from './stored-value.ts';
export type { CloudValue } from './stored-value.ts';
export type { Dialect, DialectName, JsonObject } from './dialect.ts';
export { dialects, detectDialect, legacyDialect, scratchDialect, seedDialect } from './dialects.ts';
export { parseFrame, parseFrameMessages, parseHandshakeFrame } from './parse.ts';
export type { FrameMessages, HandshakeFrame, MessageSink } from './parse.ts';
export { encodeClientSet, encodeHandshake, encodeSet, joinFrame, parseServerFrame, receivedValue, ServerFrameError } from './encode.ts';
export { encodeScratchCreate, encodeScratchDelete, encodeScratchRename } from './scratch-dialect.ts';
export { Failures } from './errors.ts';
export type { Failure } from './errors.ts';
