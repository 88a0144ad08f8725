// Loaded with `node --require` before a program written for sip@0.0.6: `require('sip')`,
// `require('sip/digest')` and `require('sip/proxy')` resolve to sipts instead (the built dist,
// loaded through Node's require(esm)). Nothing of the real `sip` package may load: any attempt
// to resolve a file of node_modules/sip other than the program itself throws.
'use strict';
const Module = require('node:module');
const path = require('node:path');

const map = JSON.parse(process.env.SIPTS_DROPIN_MAP || '{}');
const sipDir = process.env.SIPTS_REAL_SIP_DIR ? path.resolve(process.env.SIPTS_REAL_SIP_DIR) + path.sep : undefined;
const original = Module._resolveFilename;

Module._resolveFilename = function resolveToSipts(request, parent, isMain, options) {
  if (Object.prototype.hasOwnProperty.call(map, request)) return map[request];
  const resolved = original.call(this, request, parent, isMain, options);
  if (sipDir !== undefined && !isMain && resolved.startsWith(sipDir) && !resolved.startsWith(sipDir + 'examples' + path.sep)) {
    throw new Error(`drop-in check: ${request} resolved to the real sip package (${resolved})`);
  }
  return resolved;
};
