// The `ws` package, loaded on first use: the first listen() or the first outgoing connection,
// not when this package is imported. An application that imports @sipts/core without a
// WebSocket port never loads `ws` (nor pays for its start-up).
import type * as Ws from 'ws';

export type WsModule = typeof Ws;

let loaded: WsModule | undefined;
let loading: Promise<WsModule> | undefined;

/** `ws` if it has been loaded already. */
export function loadedWs(): WsModule | undefined {
  return loaded;
}

/** Load `ws` once; every caller gets the same module. A failed load is retried by the next caller. */
export function loadWs(): Promise<WsModule> {
  if (loaded !== undefined) return Promise.resolve(loaded);
  // require(), not import(): this package is built as CommonJS, and a dynamic import() there fails
  // where no ES module loader exists (Jest's default CommonJS mode cannot load it).
  loading ??= new Promise<WsModule>((resolve) => resolve(require('ws') as WsModule)).then(
    (module) => {
      loaded = module;
      return module;
    },
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}
