// Lifecycle timeline: one SVG lane per connection, spans coloured by state, marks for open,
// close, drop, resume and gap. Labels are SVG text nodes (textContent), never markup.

const NS = "http://www.w3.org/2000/svg";
const LANE = 46; // px per lane: a row of labels above the bar and one below
const LEFT = 140; // px for lane labels
const WIDTH = 760; // viewBox width
const COLOURS = { open: "#2e9e44", connecting: "#f0a202", closed: "#bbbbbb" };
const MARKS = { open: "#2e9e44", resume: "#1f6feb", close: "#d1342f", drop: "#d1342f", gap: "#8250df", fault: "#bf3989" };

function svg(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "sse-nb-timeline";
  root.style.cssText = "font:11px system-ui,sans-serif";
  el.append(root);
  let stamp = performance.now();

  function draw() {
    const lanes = model.get("lanes");
    const now = model.get("now") + (performance.now() - stamp) / 1000;
    let t0 = Infinity;
    let t1 = now;
    for (const l of lanes) {
      for (const s of l.segments) {
        t0 = Math.min(t0, s.start);
        t1 = Math.max(t1, s.end ?? s.start);
      }
    }
    if (!isFinite(t0)) t0 = now - 1;
    const span = Math.max(t1 - t0, 1);
    const x = (t) => LEFT + ((t - t0) / span) * (WIDTH - LEFT - 10);
    const height = Math.max(1, lanes.length) * LANE + 24;
    const LABEL_CHARS = 24; // lane labels are cut to fit LEFT
    const root_svg = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, width: "100%", role: "img" });
    root_svg.append(svg("title", {}, `${model.get("kind")} timeline`));
    lanes.forEach((lane, i) => {
      const y = i * LANE + 22;
      const g = svg("g", { class: "sse-nb-lane" });
      const name = svg("text", { x: 4, y: y + 4, fill: "currentColor" }, lane.label.slice(0, LABEL_CHARS));
      name.append(svg("title", {}, lane.label));
      g.append(name);
      for (const s of lane.segments) {
        const end = s.end ?? (s.kind === "closed" ? s.start : now);
        const w = Math.max(2, x(end) - x(s.start));
        const r = svg("rect", { x: x(s.start), y: y - 5, width: w, height: 10, rx: 2, fill: COLOURS[s.kind] || "#888" });
        r.append(svg("title", {}, s.label));
        g.append(r);
      }
      lane.marks.forEach((m, j) => {
        const mx = x(m.t);
        const c = MARKS[m.kind] || "#444";
        g.append(svg("line", { x1: mx, x2: mx, y1: y - 9, y2: y + 9, stroke: c, "stroke-width": 2 }));
        const above = j % 2 === 0;
        const nearEnd = mx > WIDTH - 120;
        const label = svg(
          "text",
          { x: nearEnd ? mx - 3 : mx + 3, y: above ? y - 10 : y + 19, fill: c, "data-kind": m.kind, "text-anchor": nearEnd ? "end" : "start" },
          m.label,
        );
        if (m.detail) label.append(svg("title", {}, m.detail));
        g.append(label);
      });
      root_svg.append(g);
    });
    const axisY = Math.max(1, lanes.length) * LANE + 4;
    root_svg.append(svg("line", { x1: LEFT, x2: WIDTH - 10, y1: axisY, y2: axisY, stroke: "#999" }));
    root_svg.append(svg("text", { x: LEFT, y: axisY + 10, fill: "#777" }, "0 s"));
    root_svg.append(svg("text", { x: WIDTH - 60, y: axisY + 10, fill: "#777" }, `${span.toFixed(1)} s`));
    root.replaceChildren(root_svg);
    root.dataset.kind = model.get("kind");
    root.dataset.lanes = String(lanes.length);
    root.dataset.marks = lanes.map((l) => l.marks.map((m) => m.kind).join(",")).join(";");
  }
  function changed() {
    stamp = performance.now();
    draw();
  }
  model.on("change:lanes", changed);
  model.on("change:now", changed);
  // Open spans grow with time even when nothing changes.
  const timer = setInterval(draw, 1000);
  draw();
  return () => {
    clearInterval(timer);
    model.off("change:lanes", changed);
    model.off("change:now", changed);
  };
}

export default { render };
