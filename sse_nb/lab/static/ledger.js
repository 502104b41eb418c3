// Exactly-once ledger: one line of counts, then the anomalies with the connection at which each
// happened. Text only (textContent).

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "sse-nb-ledger";
  root.style.cssText = "font:13px system-ui,sans-serif;padding:4px";
  el.append(root);

  function draw() {
    const s = model.get("summary") || {};
    const bad = (s.lost || 0) + (s.duplicated || 0) + (s.out_of_order || 0);
    const head = document.createElement("div");
    head.className = "sse-nb-ledger-verdict";
    head.style.cssText = `font-weight:bold;color:${bad ? "#d1342f" : "#2e9e44"}`;
    head.textContent = `${s.lost ?? 0} lost, ${s.duplicated ?? 0} duplicated, ${s.out_of_order ?? 0} out of order`;
    const sub = document.createElement("div");
    sub.style.color = "#57606a";
    sub.textContent = `${s.received ?? 0} received of ${s.expected ?? 0} expected ids · ${s.connections ?? 0} connection(s) · ${s.gaps ?? 0} gap signal(s)`;
    const list = document.createElement("ul");
    list.style.cssText = "margin:4px 0;padding-left:18px;max-height:160px;overflow:auto";
    for (const [kind, what, conn] of model.get("anomalies")) {
      const li = document.createElement("li");
      li.dataset.kind = kind;
      li.textContent = `${kind} ${what} (connection ${conn})`;
      list.append(li);
    }
    root.replaceChildren(head, sub, list);
    root.dataset.lost = String(s.lost ?? 0);
    root.dataset.duplicated = String(s.duplicated ?? 0);
    root.dataset.connections = String(s.connections ?? 0);
  }
  draw();
  model.on("change:summary", draw);
  model.on("change:anomalies", draw);
  return () => {
    model.off("change:summary", draw);
    model.off("change:anomalies", draw);
  };
}

export default { render };
