/* The flow map: dagre (static/dagre.min.js, @dagrejs/dagre 3.1.3, MIT) lays the steps out;
   this draws them as SVG. Each step is a link to its place in the editor. A branch back to
   its own step (a self-loop) is not given to dagre, which routes it through the ranks as
   a stray line: it is drawn here as an arc beside the step, with its label, in room kept
   for it on the step's right (the step's laid-out width includes it). */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var box = document.getElementById("flow-map");
  var data = JSON.parse(document.getElementById("flow-graph").textContent);
  var ASKS = { ask: 1, confirm: 1, collect_number: 1, ask_time: 1 };
  var ENDS = { transfer: 1, book: 1, end: 1, record: 1 };

  function el(tag, attrs, text) {
    var node = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  var g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 30, ranksep: 50, marginx: 10, marginy: 10 });
  var HEIGHT = 54, LOOP_REACH = 22, LOOP_STEP = 10, LABEL_GAP = 6, LABEL_LINE = 13;
  var loops = {};
  data.edges.forEach(function (e) {
    if (e.from === e.to) { (loops[e.from] = loops[e.from] || []).push(e); }
  });
  function loopRoom(id) {
    var mine = loops[id] || [];
    if (!mine.length) { return 0; }
    var longest = Math.max.apply(null, mine.map(function (e) { return e.label.length; }));
    return LOOP_REACH + LOOP_STEP * (mine.length - 1) + LABEL_GAP + 7 * longest + 4;
  }
  data.nodes.forEach(function (n) {
    var width = Math.max(150, Math.min(260, 7 * Math.max(n.id.length + n.type.length + 3, n.text.length * 0.8)));
    g.setNode(n.id, { width: width + loopRoom(n.id), height: HEIGHT, box: width, data: n });
  });
  data.edges.forEach(function (e, i) {
    if (e.from === e.to) { return; }
    g.setEdge(e.from, e.to, { label: e.label, width: 7 * e.label.length, height: 14, labelpos: "c" }, "e" + i);
  });
  dagre.layout(g);

  var size = g.graph();
  var svg = el("svg", { viewBox: "0 0 " + Math.ceil(size.width) + " " + Math.ceil(size.height),
                        width: Math.ceil(size.width), height: Math.ceil(size.height) });
  var defs = el("defs");
  var marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
                               markerHeight: 7, orient: "auto-start-reverse" });
  marker.appendChild(el("path", { d: "M 0 0 L 10 5 L 0 10 z", "class": "arrowhead" }));
  defs.appendChild(marker);
  svg.appendChild(defs);

  g.edges().forEach(function (ref) {
    var edge = g.edge(ref);
    var d = edge.points.map(function (p, i) { return (i ? "L" : "M") + p.x.toFixed(1) + " " + p.y.toFixed(1); }).join(" ");
    var group = el("g", { "class": "edge", "data-from": ref.v, "data-to": ref.w, "data-label": edge.label });
    group.appendChild(el("path", { d: d, "marker-end": "url(#arrow)" }));
    if (edge.x !== undefined) {
      group.appendChild(el("rect", { x: edge.x - edge.width / 2 - 2, y: edge.y - 8, width: edge.width + 4, height: 15, "class": "edge-label-bg" }));
      group.appendChild(el("text", { x: edge.x, y: edge.y + 4, "text-anchor": "middle", "class": "edge-label" }, edge.label));
    }
    svg.appendChild(group);
  });

  /* The self-loops of a step: nested arcs leaving its right side above the middle and
     coming back below it, the labels stacked to their right. */
  function drawLoops(id, node) {
    var mine = loops[id] || [];
    var right = node.x - node.width / 2 + node.box;
    var outer = LOOP_REACH + LOOP_STEP * (mine.length - 1);
    mine.forEach(function (e, k) {
      var reach = LOOP_REACH + LOOP_STEP * k, spread = 7 + 3 * k;
      var top = node.y - spread, bottom = node.y + spread, bend = right + reach * 4 / 3;
      var d = "M" + right.toFixed(1) + " " + top.toFixed(1) +
        " C" + bend.toFixed(1) + " " + (top - reach * 0.5).toFixed(1) +
        " " + bend.toFixed(1) + " " + (bottom + reach * 0.5).toFixed(1) +
        " " + (right + 1).toFixed(1) + " " + bottom.toFixed(1);
      var group = el("g", { "class": "edge loop", "data-from": id, "data-to": id, "data-label": e.label });
      group.appendChild(el("path", { d: d, "marker-end": "url(#arrow)" }));
      var x = right + outer + LABEL_GAP;
      var y = node.y + 4 + (k - (mine.length - 1) / 2) * LABEL_LINE;
      group.appendChild(el("rect", { x: x - 2, y: y - 11, width: 7 * e.label.length + 4, height: 14, "class": "edge-label-bg" }));
      group.appendChild(el("text", { x: x, y: y, "text-anchor": "start", "class": "edge-label" }, e.label));
      svg.appendChild(group);
    });
  }

  g.nodes().forEach(function (id) {
    var node = g.node(id), n = node.data;
    var left = node.x - node.width / 2, middle = left + node.box / 2;
    drawLoops(id, node);
    var kind = ASKS[n.type] ? "asks" : (ENDS[n.type] ? "ends" : "passes");
    var classes = ["step", kind].concat(n.marks);
    if (n.start) { classes.push("start"); }
    var link = el("a", { href: box.dataset.edit + "#f-steps--" + id, "class": classes.join(" "),
                         "data-step": id, "data-type": n.type });
    var marks = n.marks.filter(function (m) { return m !== "cycle" || n.marks.length === 1; })
      .map(function (m) { return box.dataset[m.replace("_e", "E")] || m; });
    link.appendChild(el("title", {}, id + " (" + n.type + ")" + (marks.length ? " — " + marks.join(", ") : "") + (n.text ? ": " + n.text : "")));
    link.appendChild(el("rect", { x: left, y: node.y - node.height / 2,
                                  width: node.box, height: node.height, rx: 6 }));
    link.appendChild(el("text", { x: middle, y: node.y - 6, "text-anchor": "middle", "class": "step-name" },
                        (n.start ? "▶ " : "") + id + " · " + n.type));
    link.appendChild(el("text", { x: middle, y: node.y + 13, "text-anchor": "middle", "class": "step-text" },
                        n.text.length > 34 ? n.text.slice(0, 33) + "…" : n.text));
    svg.appendChild(link);
  });
  box.appendChild(svg);
  box.dataset.drawn = String(data.nodes.length);
})();
