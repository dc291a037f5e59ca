// A user's app: import the package as published and use it.
import { Doc } from "weft";

const out = document.getElementById("result");
try {
  const a = new Doc();
  const b = new Doc();
  a.insert(0, "hello 😀");
  b.applyUpdate(a.encodeUpdate());
  b.insert(b.length, " from vite");
  a.applyUpdate(b.encodeUpdate(a.version()));
  out.textContent = `ok: ${a.toString()}`;
} catch (err) {
  out.textContent = `error: ${err && err.stack || err}`;
}
