// Shared by the Node tests of Store: an IndexedDB that refuses to open stands
// in for a browser's blocked storage, so a store edits in memory and retries.
// No tests of its own.

/** Installs the blocked IndexedDB; returns what removes it. */
export function blockStorage() {
  globalThis.indexedDB = {
    open() {
      const request = {};
      setTimeout(() => {
        request.error = new DOMException("storage is blocked", "SecurityError");
        // As a browser does: an error event whose target is the request.
        request.onerror?.({ type: "error", target: request });
      }, 0);
      return request;
    },
  };
  return () => {
    delete globalThis.indexedDB;
  };
}
