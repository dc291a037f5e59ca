// Compiled with `tsc --noEmit` by the tests: the package's types serve a
// TypeScript user (wrong uses are marked with @ts-expect-error).
import { Doc, Store, applyDelta, type ChangeEvent, type Delta, type StickyIndex, type UpdateEvent } from "weft";

const doc: Doc = new Doc({ replica: 7n });
doc.insert(0, "typed");
const length: number = doc.length;
const text: string = doc.slice(0, length);
const update: Uint8Array = doc.encodeUpdate(doc.version());
doc.applyUpdate(update);
doc.applyUpdate(update, "a peer"); // any origin
const binding = { name: "editor" };
const inserted: number = doc.transact(() => {
  doc.insert(0, "a");
  doc.insert(1, "b");
  return 2;
}, binding);
void inserted;
const sticky: StickyIndex = doc.stickyIndex(2, "left");
const at: number = doc.resolveSticky(sticky);
doc.on("change", (e: ChangeEvent) => {
  const d: Delta = e.delta;
  // Whatever was passed as origin (`"local"` / `"remote"` when nothing was).
  const origin: unknown = e.origin;
  const local: boolean = e.local;
  void applyDelta(text, d), origin === binding, local;
});
doc.on("update", (e: UpdateEvent) => {
  const bytes: Uint8Array = e.update;
  void bytes, e.origin, e.local;
});
void Store.open("notes", { doc });
// @ts-expect-error transact takes a function
doc.transact("x");
// @ts-expect-error only a Doc attaches
void Store.open("notes", { doc: {} });
const replica: bigint = doc.replica;
void at, replica;
// @ts-expect-error indices are numbers
doc.insert("0", "x");
// @ts-expect-error replica ids are bigints, never lossy numbers
new Doc({ replica: 7 });
// @ts-expect-error only "left" or "right"
doc.stickyIndex(0, "up");
doc[Symbol.dispose]();
