// The stack a proxy runs on when the caller injects none. `createProxy` gets a stack of its own
// (core's `create`); the module-level `start` of `sip/proxy` runs on core's default stack
// (core's `start`), as sip/proxy ran on sip.start: programs written for sip call
// `sip.send`, `sip.encodeFlowUri`... on the stack `proxy.start` made.
import { create, start, type StackOptions } from '@sipts/core';
import type { StackFactory } from './stack.js';

export const defaultStackFactory: StackFactory<Record<string, unknown>> = (options, onRequest) =>
  create(options as StackOptions, onRequest);

export const moduleStackFactory: StackFactory<Record<string, unknown>> = (options, onRequest) =>
  start(options as StackOptions, onRequest);
