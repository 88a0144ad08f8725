// @sipts/observability: structured, levelled logs with call context for sipts stacks, through
// any pino-compatible logger.
export { logStack, stackLogger, messageContext, remoteText, LOG_LEVELS } from './logger.js';
export type { LogFn, LogLevel, LogStackOptions, LoggedStack, SipLogger } from './logger.js';
