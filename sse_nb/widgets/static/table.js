// Live event table: a bounded window of rows kept per model, rendered windowed (only the rows in
// view exist in the DOM), so 100,000 rows scroll as smoothly as 10. Rows arrive as batched
// deltas ({kind: "rows" | "reset", rows, total}); a late view asks for the window with "sync".
// Every cell is written with textContent: event data is shown as text, never parsed as HTML.

const ROW_HEIGHT = 22; // px; fixed so the visible slice is simple arithmetic
const OVERSCAN = 8; // rows drawn above and below the viewport to hide scroll flicker
const COLUMNS = "4.5em 7em 8em 1fr 8.5em";

function fmtTime(t) {
  return new Date(t * 1000).toISOString().slice(11, 23);
}

// One store per model, shared by all its views. anywidget hands initialize() and each render()
// different wrappers of the model, so stores are found by the model's `key` trait.
const STORES = (globalThis.__sse_nb_tables ??= new Map());

function storeOf(model) {
  const key = model.get("key");
  let store = STORES.get(key);
  if (!store) {
    store = { rows: [], total: 0, listeners: new Set() };
    STORES.set(key, store);
  }
  return store;
}

function initialize({ model }) {
  const store = storeOf(model);
  const onMsg = (msg) => {
    if (!msg || (msg.kind !== "rows" && msg.kind !== "reset")) return;
    const max = Math.max(1, model.get("max_rows"));
    if (msg.kind === "reset") {
      // Keep rows newer than the reset (deltas that overtook it), drop the rest.
      const newest = msg.rows.length ? msg.rows[msg.rows.length - 1][0] : 0;
      store.rows = msg.rows.concat(store.rows.filter((r) => r[0] > newest));
    } else {
      const last = store.rows.length ? store.rows[store.rows.length - 1][0] : 0;
      for (const r of msg.rows) if (r[0] > last) store.rows.push(r);
    }
    if (store.rows.length > max) store.rows.splice(0, store.rows.length - max);
    store.total = Math.max(store.total, msg.total);
    for (const fn of store.listeners) fn();
  };
  model.on("msg:custom", onMsg);
  model.send({ kind: "sync" });
  return () => {
    model.off("msg:custom", onMsg);
    STORES.delete(model.get("key"));
  };
}

function cell(text, extra) {
  const c = document.createElement("div");
  c.className = "sse-nb-cell";
  c.style.cssText = "overflow:hidden;white-space:pre;text-overflow:ellipsis;padding:0 .4em" + (extra || "");
  c.textContent = text;
  return c;
}

function render({ model, el }) {
  const store = storeOf(model);
  const root = document.createElement("div");
  root.className = "sse-nb-table";
  root.style.cssText = "font:12px/1.4 ui-monospace,monospace;border:1px solid rgba(128,128,128,.4);border-radius:3px";
  const head = document.createElement("div");
  head.style.cssText = `display:grid;grid-template-columns:${COLUMNS};font-weight:bold;border-bottom:1px solid rgba(128,128,128,.4);height:${ROW_HEIGHT}px;align-items:center`;
  for (const h of ["#", "id", "type", "data", "received (UTC)"]) head.append(cell(h));
  const viewport = document.createElement("div");
  viewport.className = "sse-nb-viewport";
  viewport.style.cssText = "overflow-y:auto;position:relative";
  const spacer = document.createElement("div");
  spacer.style.cssText = "position:relative;width:100%";
  viewport.append(spacer);
  const foot = document.createElement("div");
  foot.className = "sse-nb-footer";
  foot.style.cssText = "padding:2px .4em;opacity:.7;border-top:1px solid rgba(128,128,128,.4)";
  root.append(head, viewport, foot);
  el.append(root);

  let follow = true; // stick to the newest row until the reader scrolls up
  let frame = 0;

  function draw() {
    frame = 0;
    const rows = store.rows;
    viewport.style.height = model.get("height") + "px";
    spacer.style.height = rows.length * ROW_HEIGHT + "px";
    if (follow) viewport.scrollTop = viewport.scrollHeight;
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const count = Math.ceil(viewport.clientHeight / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(rows.length, first + count);
    const fresh = [];
    for (let i = first; i < last; i++) {
      const r = rows[i];
      const line = document.createElement("div");
      line.className = "sse-nb-row";
      line.dataset.n = String(r[0]);
      line.style.cssText = `position:absolute;left:0;right:0;top:${i * ROW_HEIGHT}px;height:${ROW_HEIGHT}px;display:grid;grid-template-columns:${COLUMNS};align-items:center`;
      if (i % 2) line.style.background = "rgba(128,128,128,.08)";
      line.append(cell(String(r[0]), ";opacity:.6"), cell(r[1]), cell(r[2]), cell(r[3]), cell(fmtTime(r[4])));
      fresh.push(line);
    }
    spacer.replaceChildren(...fresh);
    root.dataset.rows = String(rows.length);
    root.dataset.total = String(store.total);
    root.dataset.lastId = rows.length ? rows[rows.length - 1][1] : "";
    foot.textContent = `${rows.length} row(s) shown of ${store.total} received (page keeps the last ${model.get("max_rows")})`;
  }
  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }
  function onScroll() {
    follow = viewport.scrollTop + viewport.clientHeight >= viewport.scrollHeight - ROW_HEIGHT;
    schedule();
  }
  viewport.addEventListener("scroll", onScroll);
  store.listeners.add(schedule);
  model.on("change:height", schedule);
  model.on("change:max_rows", schedule);
  draw();
  return () => {
    store.listeners.delete(schedule);
    viewport.removeEventListener("scroll", onScroll);
    model.off("change:height", schedule);
    model.off("change:max_rows", schedule);
    if (frame) cancelAnimationFrame(frame);
  };
}

export default { initialize, render };
