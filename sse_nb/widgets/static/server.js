// Server panel: url, events published, the client registry with a drop button per connection,
// a publish box and "drop all". All values are written with textContent, never as HTML.

const STATE_COLOURS = { open: "#2e9e44", closed: "#d1342f" };
const COLUMNS = ["id", "state", "remote", "channel", "resumed from", "last id sent", "sent", "close reason", ""];

function el(tag, text, css) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (css) e.style.cssText = css;
  return e;
}

function render({ model, el: host }) {
  const root = el("div", undefined, "font:13px/1.5 system-ui,sans-serif");
  root.className = "sse-nb-server";
  const header = el("div", undefined, "display:flex;flex-wrap:wrap;gap:1em;align-items:center");
  const url = el("code");
  url.className = "sse-nb-url";
  const published = el("span");
  published.className = "sse-nb-published";
  const dropAll = el("button", "Drop all connections");
  dropAll.className = "sse-nb-drop-all";
  dropAll.addEventListener("click", () => model.send({ kind: "drop", id: null }));
  header.append(url, published, dropAll);

  const form = el("form", undefined, "display:flex;gap:.5em;margin:.4em 0");
  const eventBox = el("input", undefined, "width:8em");
  eventBox.placeholder = "event (optional)";
  eventBox.className = "sse-nb-event-type";
  const dataBox = el("input", undefined, "flex:1");
  dataBox.placeholder = "data to publish";
  dataBox.className = "sse-nb-data";
  const send = el("button", "Publish");
  send.type = "submit";
  form.append(eventBox, dataBox, send);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    model.send({ kind: "publish", data: dataBox.value, event: eventBox.value });
    dataBox.value = "";
  });

  // Faults on demand (server.faults), for every open connection or the one chosen; each lands
  // on the timeline.
  const faults = el("div", undefined, "display:flex;flex-wrap:wrap;gap:.3em;align-items:center;margin:.2em 0");
  faults.className = "sse-nb-faults";
  faults.append(el("span", "faults:", "opacity:.7"));
  const target = el("select");
  target.className = "sse-nb-fault-target";
  target.title = "the connection the fault hits: all, or one client of the table";
  const count = el("input", undefined, "width:3.5em");
  count.type = "number";
  count.min = "1";
  count.value = "3";
  count.title = "N: attempts to answer, or events to keep for trim";
  count.className = "sse-nb-fault-n";
  const rate = el("input", undefined, "width:5em");
  rate.type = "number";
  rate.min = "1";
  rate.value = "200";
  rate.title = "throttle's rate, bytes per second";
  rate.className = "sse-nb-fault-rate";
  const FAULTS = [
    ["reset", "RST"], ["close", "FIN"], ["stall", "stall"], ["throttle", "throttle"],
    ["resume", "resume"], ["204", "next N: 204"], ["500", "next N: 500"],
    ["content-type", "next N: wrong type"], ["redirect", "next N: redirect"],
    ["trim", "trim to last N"], ["restart", "restart"],
  ];
  const positive = (box) => Math.max(1, parseInt(box.value, 10) || 1);
  faults.append(target);
  for (const [fault, label] of FAULTS) {
    const b = el("button", label);
    b.className = "sse-nb-fault";
    b.dataset.fault = fault;
    b.addEventListener("click", () => model.send({
      kind: "fault", fault, id: target.value || null, n: positive(fault === "throttle" ? rate : count),
    }));
    faults.append(b);
  }
  faults.append(count, el("span", "B/s:", "opacity:.7"), rate);

  const table = el("table", undefined, "border-collapse:collapse;font:12px/1.4 ui-monospace,monospace;width:100%");
  const thead = el("thead");
  const hr = el("tr");
  for (const c of COLUMNS) hr.append(el("th", c, "text-align:left;padding:2px 6px;border-bottom:1px solid rgba(128,128,128,.5)"));
  thead.append(hr);
  const tbody = el("tbody");
  table.append(thead, tbody);
  const note = el("div", undefined, "opacity:.7;font-size:12px");
  note.className = "sse-nb-message";
  const logError = el("div", undefined, "color:#c62828;font-size:12px");
  logError.className = "sse-nb-log-error";
  root.append(header, form, faults, table, note, logError);
  host.append(root);

  function update() {
    const running = model.get("running");
    root.dataset.running = String(running);
    url.textContent = running ? model.get("url") : "(server not running)";
    published.textContent = `published: ${model.get("published")}`;
    root.dataset.published = String(model.get("published"));
    const rows = [];
    for (const c of model.get("clients")) {
      const tr = el("tr");
      tr.className = "sse-nb-client";
      tr.dataset.id = c.id;
      tr.dataset.state = c.state;
      if (c.state === "open") tr.addEventListener("click", () => { target.value = c.id; });
      const cells = [c.id, c.state, c.remote, c.channel, c.resumed_from, c.last_event_id, String(c.events_sent), c.close_reason];
      cells.forEach((v, i) => {
        const td = el("td", v, "padding:2px 6px;border-bottom:1px solid rgba(128,128,128,.2)");
        if (i === 1) td.style.color = STATE_COLOURS[v] || "";
        tr.append(td);
      });
      const td = el("td");
      if (c.state === "open") {
        const b = el("button", "Drop");
        b.className = "sse-nb-drop";
        b.addEventListener("click", () => model.send({ kind: "drop", id: c.id }));
        td.append(b);
      }
      tr.append(td);
      rows.push(tr);
    }
    tbody.replaceChildren(...rows);
    // The target list follows the open clients; a chosen one that closed falls back to all.
    const chosen = target.value;
    const open = model.get("clients").filter((c) => c.state === "open").map((c) => c.id);
    const options = [["", "all"], ...open.map((id) => [id, id])].map(([value, text]) => {
      const o = el("option", text);
      o.value = value;
      return o;
    });
    target.replaceChildren(...options);
    target.value = open.includes(chosen) ? chosen : "";
    root.dataset.clients = String(rows.length);
    note.textContent = model.get("message");
    const failure = model.get("log_error");
    logError.textContent = failure ? `event log: ${failure}` : "";
    root.dataset.logError = failure ? "true" : "false";
  }
  const names = ["url", "running", "published", "clients", "message", "log_error"];
  for (const n of names) model.on("change:" + n, update);
  update();
  return () => {
    for (const n of names) model.off("change:" + n, update);
  };
}

export default { render };
