// Compiled with `tsc --noEmit` by the tests: the package's types serve a
// TypeScript user (wrong uses are marked with @ts-expect-error).
import { Doc, applyDelta, type ChangeEvent, type Delta, type StickyIndex } from "weft";

const doc: Doc = new Doc({ replica: 7n });
doc.insert(0, "typed");
const length: number = doc.length;
const text: string = doc.slice(0, length);
const update: Uint8Array = doc.encodeUpdate(doc.version());
doc.applyUpdate(update);
const sticky: StickyIndex = doc.stickyIndex(2, "left");
const at: number = doc.resolveSticky(sticky);
doc.on("change", (e: ChangeEvent) => {
  const d: Delta = e.delta;
  const origin: "local" | "remote" = e.origin;
  void applyDelta(text, d), origin;
});
const replica: bigint = doc.replica;
void at, replica;
// @ts-expect-error indices are numbers
doc.insert("0", "x");
// @ts-expect-error replica ids are bigints, never lossy numbers
new Doc({ replica: 7 });
// @ts-expect-error only "left" or "right"
doc.stickyIndex(0, "up");
doc[Symbol.dispose]();
