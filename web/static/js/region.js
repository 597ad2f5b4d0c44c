// Region view heatmaps: clusters × years (IT adoption rate) and clusters × links (median level),
// from the JSON the page carries in #region-data (data-chart).
(function () {
  "use strict";
  var charts = [];
  var ratio = Math.max(2, window.devicePixelRatio || 1);
  function one(v) { return v === null || v === undefined ? "—" : Number(v).toFixed(1); }
  function heat(id, xs, ys, data, name, min, max, suffix) {
    var el = document.getElementById(id);
    if (!el || !ys.length) return;
    var c = echarts.init(el, null, { renderer: "canvas", devicePixelRatio: ratio });
    var esc = echarts.format.encodeHTML;
    c.setOption({
      animation: false,
      tooltip: { formatter: function (p) { return esc(ys[p.value[1]]) + " · " + esc(xs[p.value[0]]) + "<br>" + esc(name) + ": " + one(p.value[2]) + suffix; } },
      grid: { left: 8, right: 8, top: 8, bottom: 56, containLabel: true },
      xAxis: { type: "category", data: xs, splitArea: { show: true } },
      // The first cluster at the top, as in the table above.
      yAxis: { type: "category", data: ys, splitArea: { show: true }, inverse: true },
      visualMap: { min: min, max: max, calculable: false, orient: "horizontal", left: "center", bottom: 0,
                   text: [one(max) + suffix, one(min) + suffix] },
      series: [{ type: "heatmap", data: data.filter(function (d) { return d[2] !== null; }),
                 label: { show: true, formatter: function (p) { return one(p.value[2]); } } }]
    });
    charts.push(c);
  }
  function draw() {
    var node = document.getElementById("region-data");
    if (!node || typeof echarts === "undefined") return;
    var d = JSON.parse(node.dataset.chart);
    heat("heat-years", d.years, d.clusters, d.rates, d.labels.rate, 30, 90, "%");
    heat("heat-links", d.links, d.clusters, d.medians, d.labels.median, 20, 80, "");
  }
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
