// Dialog state across a restart or a hand-over: a snapshot written by dialog.toJSON() is checked
// field by field (it may come from a file, a database, another process) and turned back into the
// init of a confirmed dialog, its session and its session timer.
import type { Dialog } from './dialog.js';
import type { DialogInit } from './dialog-state.js';
import { DialogError } from './errors.js';
import type { DialogSnapshot } from './types.js';

function bad(field: string): never {
  throw new DialogError('ERR_INVALID_SNAPSHOT', `snapshot.${field} is missing or malformed`);
}

function str(value: unknown, field: string): string {
  if (typeof value !== 'string' || value === '' || value.length > 8192) bad(field);
  return value;
}

function optionalStr(value: unknown, field: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > 65536) bad(field);
  return value;
}

function int(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 0xffffffff) bad(field);
  return value;
}

/** The DialogInit of a snapshot (a confirmed dialog); throws ERR_INVALID_SNAPSHOT. */
export function restoreInit(snapshot: DialogSnapshot): DialogInit {
  if (typeof snapshot !== 'object' || snapshot === null) bad('');
  if (snapshot.version !== 1) bad('version');
  if (!Array.isArray(snapshot.routeSet) || snapshot.routeSet.length > 64) bad('routeSet');
  const routeSet = snapshot.routeSet.map((r, i) => str(r, `routeSet[${i}]`));
  return {
    callId: str(snapshot.callId, 'callId'),
    localTag: str(snapshot.localTag, 'localTag'),
    remoteTag: str(snapshot.remoteTag, 'remoteTag'),
    localUri: str(snapshot.localUri, 'localUri'),
    localName: optionalStr(snapshot.localName, 'localName'),
    remoteUri: str(snapshot.remoteUri, 'remoteUri'),
    remoteName: optionalStr(snapshot.remoteName, 'remoteName'),
    remoteTarget: str(snapshot.remoteTarget, 'remoteTarget'),
    routeSet,
    localSeq: int(snapshot.localSeq, 'localSeq', 0),
    remoteSeq: snapshot.remoteSeq === -1 ? -1 : int(snapshot.remoteSeq, 'remoteSeq', 0),
    outgoing: snapshot.outgoing === true,
    localContact: str(snapshot.localContact, 'localContact'),
    early: false,
    peerUpdate: snapshot.peerUpdate === true,
    peerTimer: snapshot.peerTimer === true,
  };
}

/** The session and session timer of a snapshot, on the restored dialog. */
export function restoreSession(dialog: Dialog, snapshot: DialogSnapshot): void {
  dialog.oa.localSdp = optionalStr(snapshot.localSdp, 'localSdp');
  dialog.oa.remoteSdp = optionalStr(snapshot.remoteSdp, 'remoteSdp');
  const timer = snapshot.sessionTimer;
  if (timer === undefined || timer === null) return;
  const interval = int(timer.interval, 'sessionTimer.interval', 1);
  if (timer.refresher !== 'local' && timer.refresher !== 'remote') bad('sessionTimer.refresher');
  const remaining = typeof timer.remainingMs === 'number' && Number.isFinite(timer.remainingMs) ? timer.remainingMs : 0;
  const elapsed = typeof timer.savedAt === 'number' && Number.isFinite(timer.savedAt) ? Math.max(0, Date.now() - timer.savedAt) : 0;
  dialog.resumeSessionTimer({ interval, refresher: timer.refresher }, Math.max(0, remaining - elapsed));
}
