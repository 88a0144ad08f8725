// DESIGN.md: a stream connection closes after its idle timeout only when no transaction runs on
// it. The stream transports count holds per connection (`ref`/`unref`); this ties them to the
// transaction layer: a transaction on a reliable transport holds its connection from the moment
// the connection is known (a server transaction at once, a client transaction once a response
// has come back on it) until it terminates. Without it a call ringing longer than the idle
// timeout (120 s) would lose its final response with the connection.
import type { Remote } from '@sipts/message';
import type { Transaction, TransactionLayer, Transport } from '@sipts/transaction';

/** The hold counting of @sipts/transport-tcp / -tls connections, found by shape. */
interface FlowHolder {
  ref(flow: Remote): boolean;
  unref(flow: Remote): boolean;
}

function holderOf(transport: Transport): FlowHolder | undefined {
  const t = transport as Transport & Partial<FlowHolder>;
  return t.reliable && typeof t.ref === 'function' && typeof t.unref === 'function' ? (t as Transport & FlowHolder) : undefined;
}

export function holdStreamFlows(layer: TransactionLayer): void {
  const held = new WeakSet<Transaction>();
  const hold = (tx: Transaction): void => {
    // UDP (most transactions) holds nothing: no WeakSet lookup, no identity hash for the object.
    if (!tx.transport.reliable || held.has(tx)) return;
    const holder = holderOf(tx.transport);
    if (holder !== undefined && holder.ref(tx.remote)) held.add(tx);
  };
  layer.on('created', hold);
  layer.on('state', (tx, _from, to) => {
    if (to !== 'terminated') {
      hold(tx);
    } else if (tx.transport.reliable && held.delete(tx)) {
      holderOf(tx.transport)?.unref(tx.remote);
    }
  });
}
