// The demo's history panel as people use it: two browser processes in one
// room type, one opens the history, moves the slider with the keyboard, sees
// who added what since, restores a version (both editors follow) and takes
// the restore back with Ctrl+Z, then sees the other's deletion struck
// through. Screenshots go to e2e/artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { E2E } from "../lib/package.mjs";
import { editorText, editorTextInPage, startDemo, typeAtEnd } from "../lib/demo.mjs";

const ARTIFACTS = join(E2E, "artifacts");
let demo;

before(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  demo = await startDemo();
});

after(async () => {
  await demo?.stop();
});

/**
 * Waits (page.waitForFunction) until `predicate` (a function or an
 * expression) holds in the page; on a timeout the assertion says what
 * `describe` found instead.
 */
async function waitFor(page, message, predicate, describe) {
  try {
    await page.waitForFunction(predicate, undefined, { timeout: 20_000 });
  } catch (e) {
    assert.fail(`${message}: ${e.message.split("\n")[0]}; found ${JSON.stringify(await describe())}`);
  }
}

const waitForEditor = (page, text, message) =>
  waitFor(page, message, `(${editorTextInPage})() === ${JSON.stringify(text)}`, () => editorText(page));

/**
 * The history view as parts: plain text as `["text", "..."]`, a marked
 * change as `[tag, text, data-author, colour]` (`ins`: added since, `del`:
 * deleted since), across the view's blocks. Run in the page.
 */
function viewPartsInPage() {
  // The view holds blocks of whole lines: one for a short text.
  const blocks = [...document.querySelector("[data-testid=history-view]").children];
  return blocks.flatMap((block) => [...block.childNodes]).map((n) =>
    n.nodeType === Node.TEXT_NODE ? ["text", n.data] : [n.localName, n.textContent, n.dataset.author ?? null, n.style.getPropertyValue("--author")],
  );
}

const viewParts = (page) => page.evaluate(viewPartsInPage);

const waitForView = (page, parts, message) =>
  waitFor(page, message, `JSON.stringify((${viewPartsInPage})()) === ${JSON.stringify(JSON.stringify(parts))}`, () => viewParts(page));

test("the history panel shows who added and deleted what since a version, restores it, and Ctrl+Z takes the restore back", async () => {
  const room = `history-${Date.now()}`;
  const ada = await demo.person("Ada", "#d1495b", room);
  const bob = await demo.person("Bob", "#2e86ab", room);
  await waitFor(bob, "connected", () => document.getElementById("peer-count").textContent === "1 peer", () => bob.locator("#peer-count").textContent());

  // Identities saved without an id (as before ids existed) got one, and it is the document's author id.
  const ids = [];
  for (const p of [ada, bob]) {
    const { me, doc, saved } = await p.evaluate(() => ({
      me: window.weft.me.id,
      doc: window.weft.doc.author,
      saved: JSON.parse(sessionStorage.getItem("weft-demo:identity")).id,
    }));
    assert.match(me, /^[0-9a-f]{16}$/);
    assert.equal(doc, me);
    assert.equal(saved, me);
    ids.push(me);
  }
  const [adaId, bobId] = ids;
  assert.notEqual(adaId, bobId);

  await typeAtEnd(ada, "hello ");
  await waitForEditor(bob, "hello ", "Ada's word reaches Bob");
  await typeAtEnd(bob, "world");
  await waitForEditor(ada, "hello world", "Bob's word reaches Ada");

  // The legend names both, from Bob's presence.
  await ada.getByTestId("history-toggle").click();
  const legend = ada.getByTestId("history-authors");
  await waitFor(ada, "both authors in the legend", () => {
    const items = [...document.querySelectorAll("[data-testid=history-authors] li")].map((li) => [li.textContent, li.dataset.author]);
    return items.length === 2 && items[0][0] === "Ada (you)" && items[1][0] === "Bob";
  }, () => legend.innerText());
  assert.deepEqual(
    await legend.locator("li").evaluateAll((lis) => lis.map((li) => li.dataset.author)),
    [adaId, bobId],
  );
  // At first the slider is at now: the text as it is, nothing marked.
  const slider = ada.getByTestId("history-slider");
  assert.equal(await slider.getAttribute("max"), "11", "one operation per character typed");
  assert.equal(await slider.inputValue(), "11");
  assert.deepEqual(await viewParts(ada), [["text", "hello world"]]);
  assert.equal(await ada.getByTestId("history-restore").isDisabled(), true, "nothing to restore at now");

  // The keyboard moves the slider: at 0 everything was added since, each part by its author.
  await slider.focus();
  await ada.keyboard.press("Home");
  await waitForView(ada, [["ins", "hello ", adaId, "#d1495b"], ["ins", "world", bobId, "#2e86ab"]], "at 0, all text added since");
  // After Ada's six characters: her text as it was, Bob's word added since.
  for (let i = 0; i < 6; i++) await ada.keyboard.press("ArrowRight");
  await waitForView(ada, [["text", "hello "], ["ins", "world", bobId, "#2e86ab"]], "after Ada's word, Bob's marked as added since");
  assert.equal(await ada.locator("[data-testid=history-view] ins").getAttribute("title"), "added since by Bob");
  await ada.screenshot({ path: join(ARTIFACTS, "history-ada.png") });

  // Restoring it: both editors show that version's text.
  await ada.getByTestId("history-restore").click();
  await waitForEditor(ada, "hello ", "restored in Ada's editor");
  await waitForEditor(bob, "hello ", "restored in Bob's editor, over sync");
  // The panel follows to the latest version, which is the restored text.
  await waitForView(ada, [["text", "hello "]], "the panel shows now");
  assert.equal(await slider.inputValue(), await slider.getAttribute("max"));

  // Ctrl+Z in Ada's editor takes the restore back, everywhere.
  await ada.locator("[data-testid=editor]").click();
  await ada.keyboard.press("Control+z");
  await waitForEditor(ada, "hello world", "Ctrl+Z undoes the restore");
  await waitForEditor(bob, "hello world", "the undo reaches Bob");
  await waitForView(ada, [["text", "hello world"]], "the open panel follows the document");

  // Bob deletes his word: in Ada's panel, at the version before, it is struck through as Bob's deletion.
  await bob.locator("[data-testid=editor]").click();
  await bob.keyboard.press("Control+End");
  for (let i = 0; i < 5; i++) await bob.keyboard.press("Backspace");
  await waitForEditor(ada, "hello ", "Bob's deletion reaches Ada");
  await waitForView(ada, [["text", "hello "]], "the open panel is at now");
  await slider.focus();
  await ada.keyboard.press("End");
  for (let i = 0; i < 5; i++) await ada.keyboard.press("ArrowLeft");
  await waitForView(ada, [["text", "hello "], ["del", "world", bobId, "#2e86ab"]], "before Bob's deletion, his word struck through");
  assert.equal(await ada.locator("[data-testid=history-view] del").getAttribute("title"), "deleted since by Bob");
  await ada.screenshot({ path: join(ARTIFACTS, "history-deleted.png") });

  for (const p of [ada, bob]) {
    assert.deepEqual(p.errors, []);
    assert.equal(await p.getByTestId("errors").innerText(), "");
  }
});
