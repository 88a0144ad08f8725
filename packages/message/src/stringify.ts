// stringify(): a message object (parsed, or built by hand in the same shape) to wire text.
// Content-Length is always recomputed as the UTF-8 byte length of `content` (RFC 3261 §20.14)
// and written where the message had it, or last. The message is not modified.
import { Buffer } from 'node:buffer';
import * as headerFormats from './headers.js';
import * as names from './names.js';
import * as uriModule from './uri.js';
import type { AuthHeader, CSeq, NameAddr, RouteAddr, SipMessage, Via } from './types.js';

// Hot-path bindings copied into module constants (see headers.ts).
const stringifyAuthHeader = headerFormats.stringifyAuthHeader;
const stringifyNameAddr = headerFormats.stringifyNameAddr;
const stringifyVia = headerFormats.stringifyVia;
const prettyHeaderName = names.prettyHeaderName;
const stringifyUri = uriModule.stringifyUri;
const byteLength = Buffer.byteLength;

function addrList(name: string, list: readonly (NameAddr | RouteAddr)[]): string {
  if (list.length === 0) return '';
  let s = name + ': ' + stringifyNameAddr(list[0] as NameAddr);
  for (let i = 1; i < list.length; i++) s += ', ' + stringifyNameAddr(list[i] as NameAddr);
  return s + '\r\n';
}

function authLines(name: string, list: readonly AuthHeader[]): string {
  let s = '';
  for (let i = 0; i < list.length; i++) s += name + ': ' + stringifyAuthHeader(list[i] as AuthHeader) + '\r\n';
  return s;
}

/** An unknown header: a string, a number, a name-addr-like object, or an array of those. */
function genericLines(name: string, value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return prettyHeaderName(name) + ': ' + value + '\r\n';
  }
  if (Array.isArray(value)) {
    let s = '';
    for (const v of value as unknown[]) s += genericLines(name, v);
    return s;
  }
  if (typeof value === 'object' && value !== null && 'uri' in value) {
    return prettyHeaderName(name) + ': ' + stringifyNameAddr(value as NameAddr) + '\r\n';
  }
  return '';
}

/**
 * The entries of a list header as a message built by hand may hold it: an array, or (as code
 * written for `sip` often does) a single object; never nothing for a value that is there.
 */
function listOf<T>(value: unknown): readonly T[] {
  return Array.isArray(value) ? (value as T[]) : [value as T];
}

export function stringify(msg: SipMessage): string {
  let s: string;
  const version = msg.version || '2.0';
  if ('method' in msg && typeof msg.method === 'string') {
    s = msg.method + ' ' + stringifyUri(msg.uri) + ' SIP/' + version + '\r\n';
  } else {
    const rs = msg as { status: number; reason?: string };
    s = 'SIP/' + version + ' ' + rs.status + ' ' + (rs.reason ?? '') + '\r\n';
  }
  const content = msg.content ?? '';
  const contentLength = content.length === 0 ? 0 : byteLength(content, 'utf8');
  let wroteLength = false;
  const headers = msg.headers;
  for (const name in headers) {
    const value: unknown = headers[name];
    if (value === undefined || value === null) continue;
    switch (name) {
      case 'via': {
        if (typeof value === 'string') {
          s += 'Via: ' + value + '\r\n';
          break;
        }
        const list = listOf<Via>(value);
        for (let i = 0; i < list.length; i++) s += 'Via: ' + stringifyVia(list[i] as Via) + '\r\n';
        break;
      }
      case 'from':
        s += 'From: ' + stringifyNameAddr(value as NameAddr) + '\r\n';
        break;
      case 'to':
        s += 'To: ' + stringifyNameAddr(value as NameAddr) + '\r\n';
        break;
      case 'call-id':
        s += 'Call-ID: ' + (value as string) + '\r\n';
        break;
      case 'cseq':
        s += 'CSeq: ' + (value as CSeq).seq + ' ' + (value as CSeq).method + '\r\n';
        break;
      case 'content-length':
        s += 'Content-Length: ' + contentLength + '\r\n';
        wroteLength = true;
        break;
      case 'contact':
      case 'route':
      case 'record-route':
      case 'path':
        // A string (hand-built `Contact: *` or raw text) is written as it is.
        s += typeof value === 'string' ? prettyHeaderName(name) + ': ' + value + '\r\n' : addrList(prettyHeaderName(name), listOf<RouteAddr>(value));
        break;
      case 'www-authenticate':
      case 'proxy-authenticate':
      case 'authorization':
      case 'proxy-authorization':
        s += typeof value === 'string' ? prettyHeaderName(name) + ': ' + value + '\r\n' : authLines(prettyHeaderName(name), listOf<AuthHeader>(value));
        break;
      case 'authentication-info':
      case 'proxy-authentication-info':
        s += prettyHeaderName(name) + ': ' + (typeof value === 'string' ? value : stringifyAuthHeader(value as AuthHeader)) + '\r\n';
        break;
      case 'refer-to':
        s += 'Refer-To: ' + (typeof value === 'string' ? value : stringifyNameAddr(value as NameAddr)) + '\r\n';
        break;
      default:
        s += genericLines(name, value);
    }
  }
  if (!wroteLength) s += 'Content-Length: ' + contentLength + '\r\n';
  return s + '\r\n' + content;
}
