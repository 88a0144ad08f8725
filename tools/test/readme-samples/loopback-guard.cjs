'use strict';
// Preloaded (node --require) into every README sample the samples test runs: a sample may only
// talk to this machine. A datagram, a TCP/TLS/WebSocket connection or a DNS query for anything
// but loopback fails at once (an error the sample sees), so a sample that would reach out fails
// its test instead of sending traffic anywhere.
const dgram = require('node:dgram');
const net = require('node:net');
const dns = require('node:dns');

function isLoopback(host) {
  if (host === undefined || host === null || host === '') return true; // Node's default: localhost
  const h = String(host).replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\./.test(h);
}
function refused(what, host) {
  const error = new Error(`README sample: ${what} to ${host} refused (loopback only)`);
  error.code = 'ERR_SAMPLE_NOT_LOOPBACK';
  return error;
}

const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function guardedSend(...args) {
  for (let i = 1; i < args.length; i++) {
    if (typeof args[i] === 'string' && !isLoopback(args[i])) throw refused('UDP datagram', args[i]);
  }
  return send.apply(this, args);
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const host = typeof first === 'object' && first !== null ? first.host ?? (first.path ? 'localhost' : undefined) : typeof args[1] === 'string' ? args[1] : undefined;
  if (!isLoopback(host)) throw refused('connection', host);
  return connect.apply(this, args);
};

function guardResolver(proto, promise) {
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (!/^(resolve|reverse)/.test(name) || typeof proto[name] !== 'function') continue;
    const original = proto[name];
    proto[name] = function guardedResolve(hostname, ...rest) {
      if (isLoopback(hostname)) return original.call(this, hostname, ...rest);
      const error = Object.assign(new Error(`queryA ENOTFOUND ${hostname} (README samples: loopback only)`), { code: 'ENOTFOUND', hostname });
      if (promise) return Promise.reject(error);
      const callback = rest[rest.length - 1];
      if (typeof callback === 'function') process.nextTick(callback, error);
      return undefined;
    };
  }
}
guardResolver(dns, false);
guardResolver(dns.Resolver.prototype, false);
guardResolver(dns.promises, true);
guardResolver(dns.promises.Resolver.prototype, true);
const lookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, ...rest) {
  if (isLoopback(hostname) || net.isIP(hostname) !== 0) return lookup.call(this, hostname, ...rest);
  const callback = rest[rest.length - 1];
  const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (README samples: loopback only)`), { code: 'ENOTFOUND', hostname });
  if (typeof callback === 'function') process.nextTick(callback, error);
};
const promiseLookup = dns.promises.lookup;
dns.promises.lookup = function guardedLookup(hostname, ...rest) {
  if (isLoopback(hostname) || net.isIP(hostname) !== 0) return promiseLookup.call(this, hostname, ...rest);
  return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }));
};

// A sample is a program that ends by itself; this is only the backstop.
setTimeout(() => {
  console.error('README sample: still running after 20 s');
  process.exit(124);
}, 20_000).unref();
