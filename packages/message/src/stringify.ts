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
        const list = value as Via[];
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
        s += value === '*' ? 'Contact: *\r\n' : addrList('Contact', value as NameAddr[]);
        break;
      case 'route':
        s += addrList('Route', value as RouteAddr[]);
        break;
      case 'record-route':
        s += addrList('Record-Route', value as RouteAddr[]);
        break;
      case 'path':
        s += addrList('Path', value as RouteAddr[]);
        break;
      case 'www-authenticate':
        s += authLines('WWW-Authenticate', value as AuthHeader[]);
        break;
      case 'proxy-authenticate':
        s += authLines('Proxy-Authenticate', value as AuthHeader[]);
        break;
      case 'authorization':
        s += authLines('Authorization', value as AuthHeader[]);
        break;
      case 'proxy-authorization':
        s += authLines('Proxy-Authorization', value as AuthHeader[]);
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
