// Every attack, in the order they run. Retention measures heap growth, so it runs once the
// transactions of the fuzz burst have drained (the slowloris wait covers it) and before the
// floods, whose transactions wait 32 s in Completed.
import type { Attack } from '../lib/attack.js';
import { fuzz, rfc4475 } from './corpus.js';
import { digestTricks, guessing, lockout } from './digest.js';
import { distributedBurst, singleSourceFlood } from './flood.js';
import { pnpmStart } from './pnpm-start.js';
import { ackLoop, forgedResponses, forkAmplification, hops } from './proxy.js';
import { retention } from './retention.js';
import { requestUriPort, tcpBadRequest, udpJunk, unackedInvite } from './small.js';
import { oneByteSegments, pendingCap, slowloris } from './tcp.js';
import { outputCaps, wsHandshakes } from './ws.js';

export const ATTACKS: Attack[] = [
  rfc4475,
  fuzz,
  oneByteSegments,
  pendingCap,
  slowloris,
  retention,
  lockout,
  guessing,
  digestTricks,
  ackLoop,
  forkAmplification,
  forgedResponses,
  hops,
  requestUriPort,
  tcpBadRequest,
  udpJunk,
  unackedInvite,
  wsHandshakes,
  outputCaps,
  singleSourceFlood,
  distributedBurst,
  pnpmStart,
];
