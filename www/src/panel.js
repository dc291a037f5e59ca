// The side panel: people, connection, storage and document facts, errors.

const $ = (id) => document.getElementById(id);

export function showRoom(room) {
  $("room-name").textContent = room;
}

export function showPeople(me, others) {
  const list = $("people");
  list.replaceChildren(
    ...[{ ...me, you: true }, ...others].map((p) => {
      const li = document.createElement("li");
      const swatch = li.appendChild(document.createElement("span"));
      swatch.className = "swatch";
      swatch.style.background = p.color ?? "#999";
      li.append(`${p.name ?? "anonymous"}${p.you ? " (you)" : ""}`);
      return li;
    }),
  );
}

/** The sync status, the people connected, and the server's keeping of the room (undefined: not connected). */
export function showSync(status, peers, server) {
  const el = $("sync-status");
  el.textContent = status;
  el.dataset.state = status;
  $("peer-count").textContent = `${peers} ${peers === 1 ? "peer" : "peers"}`;
  const state = !server ? "not connected" : server.synced ? "in sync" : "syncing";
  const serverEl = $("server-status");
  serverEl.textContent = `server ${state}`;
  serverEl.dataset.state = state;
}

/** Peers in the room this page could not connect to, by id. */
export function showUnreachable(ids) {
  const el = $("unreachable");
  el.hidden = ids.length === 0;
  el.textContent = `cannot reach: ${ids.map((id) => id.slice(0, 8)).join(", ")}`;
}

export function showStorage(state) {
  const el = $("storage-status");
  el.textContent = state;
  el.dataset.state = state;
}

/** Whether the server has stored everything this page holds. */
export function showServerStorage(provider) {
  const server = provider?.server;
  const state = !server ? "not saved on a server" : provider.savedOnServer ? "saved on server" : "saving to server";
  const el = $("server-storage");
  el.textContent = state;
  el.dataset.state = state;
}

export function showFacts(doc, store) {
  const s = doc.stats();
  const facts = [
    ["characters", doc.length],
    ["lines", doc.lineCount],
    ["edits (op runs)", s.opRuns],
    ["tombstones", s.items - s.visibleChars],
    ["replicas", s.replicas],
  ];
  if (store) {
    const st = store.stats();
    facts.push(
      ["journal records", st.records],
      ["journal bytes", st.journalBytes],
      ["checkpoint bytes", st.checkpointBytes],
      ["last checkpoint", st.lastCheckpoint ? st.lastCheckpoint.toLocaleTimeString() : "—"],
    );
  }
  $("facts").replaceChildren(
    ...facts.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = typeof v === "number" ? v.toLocaleString() : v;
      return [dt, dd];
    }),
  );
}

/** Shows an error (the latest few); the same message is shown once. */
export function showError(error) {
  const box = $("errors");
  const text = `${error.code ? `${error.code}: ` : ""}${error.message}`;
  if ([...box.children].some((p) => p.textContent === text)) return;
  const p = document.createElement("p");
  p.textContent = text;
  box.append(p);
  while (box.children.length > 4) box.firstElementChild.remove();
}

export function clearErrors(codes) {
  for (const p of [...$("errors").children]) if (codes.some((c) => p.textContent.startsWith(c))) p.remove();
}
