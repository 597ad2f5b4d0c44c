// Cluster dashboard charts, drawn from the JSON the page carries in #cluster-data (data-chart), and drawn
// again whenever htmx swaps the dashboard (a filter changed).
(function () {
  "use strict";
  var charts = [];
  var ratio = Math.max(2, window.devicePixelRatio || 1);
  function one(v) { return v === null || v === undefined ? "—" : Number(v).toFixed(1); }

  function make(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    var c = echarts.init(el, null, { renderer: "canvas", devicePixelRatio: ratio });
    charts.push(c);
    return c;
  }

  function draw() {
    charts.forEach(function (c) { c.dispose(); });
    charts = [];
    var node = document.getElementById("cluster-data");
    if (!node || typeof echarts === "undefined") return;
    var d = JSON.parse(node.dataset.chart);
    var L = d.labels;
    var esc = echarts.format.encodeHTML;
    var axisTip = function (suffix) {
      return { trigger: "axis", formatter: function (ps) {
        return esc(String(ps[0].name)) + "<br>" + ps.filter(function (p) { return p.seriesName !== "_base"; })
          .map(function (p) { return esc(p.seriesName) + ": " + one(Array.isArray(p.value) ? p.value[1] : p.value) + suffix; }).join("<br>");
      } };
    };

    var t = d.trajectory;
    var traj = t && make("trajectory");
    if (traj) {
      var span = t.span.map(String);
      var observed = t.span.map(function (y) { var i = t.years.indexOf(y); return i < 0 ? null : t.rates[i]; });
      var base = t.lower.map(function (v) { return v; });
      var width = t.upper.map(function (v, i) { return v === null || t.lower[i] === null ? null : Math.round((v - t.lower[i]) * 10) / 10; });
      var marks = (t.versions.changed || []).map(function (y) { return { xAxis: String(y), label: { formatter: L.newVersion } }; });
      traj.setOption({
        animation: false,
        tooltip: axisTip("%"),
        legend: { bottom: 0, data: [L.rate, L.goal, L.trend, L.band] },
        grid: { left: 8, right: 24, top: 24, bottom: 36, containLabel: true },
        xAxis: { type: "category", data: span, boundaryGap: false },
        yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
        series: [
          { name: "_base", type: "line", data: base, stack: "band", symbol: "none", lineStyle: { opacity: 0 }, silent: true },
          { name: L.band, type: "line", data: width, stack: "band", symbol: "none", lineStyle: { opacity: 0 },
            areaStyle: { opacity: 0.18 }, silent: true },
          { name: L.trend, type: "line", data: t.fitted, symbol: "none", lineStyle: { type: "dotted" } },
          { name: L.goal, type: "line", data: t.glide, symbol: "none", lineStyle: { type: "dashed" } },
          { name: L.rate, type: "line", data: observed, connectNulls: false,
            label: { show: true, formatter: function (p) { return one(p.value); } },
            markLine: marks.length ? { symbol: "none", data: marks, lineStyle: { type: "solid", opacity: 0.5 } } : undefined }
        ]
      });
    }

    var boxes = d.boxes || [];
    var shown = boxes.filter(function (b) { return b.box; });
    var box = shown.length && make("boxes");
    if (box) {
      box.setOption({
        animation: false,
        tooltip: { trigger: "item", formatter: function (p) {
          var v = p.value.slice(-5);
          return esc(String(p.name)) + "<br>" + [v[0], v[1], v[2], v[3], v[4]].map(one).join(" / ") + " (n=" + shown[p.dataIndex].n + ")";
        } },
        grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: shown.map(function (b) { return String(b.year); }) },
        yAxis: { type: "value", min: 0, max: 100, name: L.level },
        series: [{ type: "boxplot", data: shown.map(function (b) { return b.box; }) }]
      });
    }
    var stack = shown.length && make("stages");
    if (stack) {
      stack.setOption({
        animation: false,
        tooltip: axisTip(""),
        legend: { bottom: 0 },
        grid: { left: 8, right: 16, top: 16, bottom: 36, containLabel: true },
        xAxis: { type: "category", data: shown.map(function (b) { return String(b.year); }) },
        yAxis: { type: "value", minInterval: 1 },
        series: d.stageIds.map(function (s, i) {
          return { name: d.stageNames[i], type: "bar", stack: "stage", data: shown.map(function (b) { return b.stages[s]; }) };
        })
      });
    }
    var links = d.links && d.links.length && make("links");
    if (links) {
      links.setOption({
        animation: false,
        tooltip: axisTip(""),
        legend: { bottom: 0, data: [L.mine, L.region] },
        grid: { left: 8, right: 16, top: 16, bottom: 36, containLabel: true },
        xAxis: { type: "category", data: d.linkNames },
        yAxis: { type: "value", min: 0, max: 100 },
        series: [
          { name: L.mine, type: "bar", data: d.links.map(function (l) { return l.median; }),
            label: { show: true, position: "top", formatter: function (p) { return one(p.value); } } },
          { name: L.region, type: "bar", data: d.links.map(function (l) { return l.region_median; }),
            label: { show: true, position: "top", formatter: function (p) { return one(p.value); } } }
        ]
      });
    }
  }

  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  document.addEventListener("htmx:afterSettle", function (e) {
    if (e.detail.target && e.detail.target.id === "dashboard") draw();
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
