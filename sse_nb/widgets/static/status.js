// Status light: the client's ready state as a colour, plus last id, counts and last error.
// Everything is written with textContent: nothing from the stream is ever parsed as HTML.

const COLOURS = { CONNECTING: "#f0a202", OPEN: "#2e9e44", CLOSED: "#d1342f" };

function field(parent, label) {
  const wrap = document.createElement("span");
  wrap.className = "sse-nb-field";
  wrap.style.marginRight = "1em";
  const name = document.createElement("span");
  name.textContent = label + " ";
  name.style.opacity = "0.7";
  const value = document.createElement("span");
  value.className = "sse-nb-value";
  wrap.append(name, value);
  parent.append(wrap);
  return { wrap, value };
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "sse-nb-status";
  root.style.cssText = "display:flex;flex-wrap:wrap;align-items:center;gap:.25em;font:13px/1.6 system-ui,sans-serif;padding:4px 0";
  const light = document.createElement("span");
  light.className = "sse-nb-light";
  light.style.cssText = "display:inline-block;width:14px;height:14px;border-radius:50%;margin-right:.4em;border:1px solid rgba(0,0,0,.3)";
  const state = document.createElement("strong");
  state.className = "sse-nb-state";
  state.style.marginRight = "1em";
  root.append(light, state);
  const lastId = field(root, "last id");
  const received = field(root, "events");
  const reconnects = field(root, "reconnects");
  const gap = field(root, "gap");
  const error = field(root, "error");
  error.value.style.color = "#d1342f";
  const url = document.createElement("div");
  url.className = "sse-nb-url";
  url.style.cssText = "flex-basis:100%;opacity:.6;font-size:12px;overflow-wrap:anywhere";
  root.append(url);
  el.append(root);

  function update() {
    const s = model.get("state");
    root.dataset.state = s;
    light.style.background = COLOURS[s] || "#888";
    light.title = s;
    state.textContent = s;
    lastId.value.textContent = model.get("last_event_id") || "—";
    received.value.textContent = String(model.get("events_received"));
    reconnects.value.textContent = String(model.get("reconnects"));
    gap.value.textContent = model.get("gap");
    gap.wrap.style.display = model.get("gap") ? "" : "none";
    error.value.textContent = model.get("error");
    error.wrap.style.display = model.get("error") ? "" : "none";
    url.textContent = model.get("url");
  }
  const names = ["state", "last_event_id", "events_received", "reconnects", "error", "gap", "url"];
  for (const n of names) model.on("change:" + n, update);
  update();
  return () => {
    for (const n of names) model.off("change:" + n, update);
  };
}

export default { render };
