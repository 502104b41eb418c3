// Conformance grid: a row per case (its bytes and expected events), a column per client,
// a pass/fail cell whose tooltip shows what the client delivered. Text only.

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "sse-nb-conformance";
  root.style.cssText = "font:12px system-ui,sans-serif;max-height:640px;overflow:auto";
  el.append(root);

  function draw() {
    const clients = model.get("clients");
    const results = model.get("results");
    const table = document.createElement("table");
    table.style.cssText = "border-collapse:collapse";
    const head = document.createElement("tr");
    for (const h of ["case", "bytes sent", "expected", ...clients]) {
      const th = document.createElement("th");
      th.textContent = h;
      th.style.cssText = "text-align:left;padding:2px 6px;border-bottom:1px solid #999";
      head.append(th);
    }
    table.append(head);
    const passed = Object.fromEntries(clients.map((c) => [c, 0]));
    for (const c of model.get("cases")) {
      const tr = document.createElement("tr");
      const name = document.createElement("td");
      name.textContent = c.name;
      name.title = c.rule;
      const bytes = document.createElement("td");
      bytes.textContent = c.bytes;
      bytes.style.cssText = "font-family:ui-monospace,monospace;max-width:280px;word-break:break-all";
      const exp = document.createElement("td");
      exp.textContent = c.expected;
      exp.style.cssText = "font-family:ui-monospace,monospace;max-width:260px;word-break:break-all;color:#57606a";
      tr.append(name, bytes, exp);
      for (const client of clients) {
        const td = document.createElement("td");
        const r = results[`${c.name}|${client}`];
        td.className = "sse-nb-cell";
        td.dataset.client = client;
        td.dataset.state = r ? (r.ok ? "pass" : "fail") : "pending";
        td.textContent = r ? (r.ok ? "pass" : "FAIL") : "…";
        td.title = r ? r.got : "running";
        td.style.cssText = `padding:2px 6px;text-align:center;color:#fff;background:${r ? (r.ok ? "#2e9e44" : "#d1342f") : "#bbb"}`;
        if (r && r.ok) passed[client] += 1;
        tr.append(td);
      }
      for (const td of tr.children) td.style.borderBottom = "1px solid #eee";
      table.append(tr);
    }
    const foot = document.createElement("tr");
    const label = document.createElement("td");
    label.colSpan = 3;
    label.textContent = model.get("done") ? "passed" : "running…";
    foot.append(label);
    for (const client of clients) {
      const td = document.createElement("td");
      td.className = "sse-nb-total";
      td.dataset.client = client;
      td.textContent = `${passed[client]}/${model.get("cases").length}`;
      td.style.cssText = "font-weight:bold;text-align:center";
      foot.append(td);
    }
    table.append(foot);
    root.replaceChildren(table);
    root.dataset.done = String(model.get("done"));
  }
  draw();
  model.on("change", draw);
  return () => model.off("change", draw);
}

export default { render };
