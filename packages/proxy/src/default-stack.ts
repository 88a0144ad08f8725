// The stack a proxy runs on when the caller injects none: @sipts/core's `create`.
import { create, type StackOptions } from '@sipts/core';
import type { StackFactory } from './stack.js';

export const defaultStackFactory: StackFactory<Record<string, unknown>> = (options, onRequest) =>
  create(options as StackOptions, onRequest);
