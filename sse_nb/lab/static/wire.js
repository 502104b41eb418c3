// Wire view: one row per chunk (its bytes, escaped) and one per line with the standard's
// decision. Everything is set as textContent, never markup.

const COLOURS = {
  chunk: "#f6f8fa", line: "transparent", response: "#ddf4ff", end: "#ffebe9",
};

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "sse-nb-wire";
  root.style.cssText = "font:12px ui-monospace,monospace;max-height:420px;overflow:auto";
  el.append(root);

  function draw() {
    const rows = model.get("rows");
    const table = document.createElement("table");
    table.style.cssText = "border-collapse:collapse;width:100%";
    const cap = document.createElement("caption");
    cap.textContent = model.get("title");
    cap.style.cssText = "text-align:left;font-weight:bold";
    table.append(cap);
    for (const r of rows) {
      const tr = document.createElement("tr");
      tr.className = `sse-nb-wire-${r.kind}`;
      tr.dataset.decision = r.decision || "";
      tr.style.background = COLOURS[r.kind] || "transparent";
      const a = document.createElement("td");
      a.textContent = r.kind === "chunk" ? `#${r.n} · ${r.size} B` : "";
      a.style.cssText = "color:#57606a;white-space:nowrap;padding:1px 6px";
      const b = document.createElement("td");
      b.textContent = r.text;
      b.className = "sse-nb-wire-bytes";
      b.style.cssText = "white-space:pre-wrap;word-break:break-all;padding:1px 6px";
      const c = document.createElement("td");
      c.textContent = r.decision + (r.value ? ` → ${r.value}` : "");
      c.className = "sse-nb-wire-decision";
      c.style.cssText = "color:#0550ae;padding:1px 6px";
      tr.append(a, b, c);
      table.append(tr);
    }
    root.replaceChildren(table);
    root.dataset.rows = String(rows.length);
    root.scrollTop = root.scrollHeight;
  }
  draw();
  model.on("change:rows", draw);
  model.on("change:title", draw);
  return () => {
    model.off("change:rows", draw);
    model.off("change:title", draw);
  };
}

export default { render };
