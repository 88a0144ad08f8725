// @sipts/proxy: not built yet (see its README). It exports nothing until it is.
export {};
