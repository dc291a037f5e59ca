// Counting the WebAssembly memory a page uses: its linear memories never
// shrink, so their sizes bound what the wasm libraries hold at their peak.

/**
 * An init script (`page.addInitScript`): runs before any page script and
 * keeps every WebAssembly memory created in `window.__wasmMemories`.
 */
export function trackWasmMemories() {
  const memories = (window.__wasmMemories = []);
  const note = (instance) => {
    for (const value of Object.values(instance.exports)) {
      if (value instanceof WebAssembly.Memory) memories.push(value);
    }
    return instance;
  };
  const { instantiate, instantiateStreaming, Instance } = WebAssembly;
  WebAssembly.instantiate = async (...args) => {
    const result = await instantiate(...args);
    note(result.instance ?? result);
    return result;
  };
  WebAssembly.instantiateStreaming = async (...args) => {
    const result = await instantiateStreaming(...args);
    note(result.instance);
    return result;
  };
  WebAssembly.Instance = function (...args) {
    return note(new Instance(...args));
  };
  WebAssembly.Instance.prototype = Instance.prototype;
}
