// Report charts, drawn from the JSON the page carries in #report-data.
(function () {
  "use strict";
  var charts = [];

  function draw() {
    var node = document.getElementById("report-data");
    if (!node || typeof echarts === "undefined") return;
    var d = JSON.parse(node.textContent);
    var radarEl = document.getElementById("radar");
    if (radarEl) {
      var series = [{ name: d.selfLabel, value: d.self.map(function (v) { return v === null ? 0 : v; }),
                      areaStyle: { opacity: 0.25 } }];
      if (d.peer) {
        series.push({ name: d.peerLabel, value: d.peer.map(function (v) { return v === null ? 0 : v; }),
                      lineStyle: { type: "dashed" }, symbol: "none" });
      }
      var radar = echarts.init(radarEl, null, { renderer: "canvas" });
      radar.setOption({
        animation: false,
        legend: { bottom: 0, data: series.map(function (s) { return s.name; }) },
        radar: { indicator: d.links.map(function (n) { return { name: n, max: 100 }; }), radius: "62%" },
        series: [{ type: "radar", data: series }]
      });
      charts.push(radar);
    }
    var aspectsEl = document.getElementById("aspects");
    if (aspectsEl) {
      var bars = echarts.init(aspectsEl, null, { renderer: "canvas" });
      bars.setOption({
        animation: false,
        grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: "value", max: 100 },
        yAxis: { type: "category", data: d.aspects, inverse: true },
        series: [{ type: "bar", data: d.aspectValues.map(function (v) { return v === null ? 0 : v; }),
                   label: { show: true, position: "right", formatter: function (p) { return p.value.toFixed(1); } } }]
      });
      charts.push(bars);
    }
    var yearsEl = document.getElementById("years");
    if (yearsEl && d.years.length > 1) {
      var line = echarts.init(yearsEl, null, { renderer: "canvas" });
      line.setOption({
        animation: false,
        grid: { left: 8, right: 24, top: 24, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: d.years },
        yAxis: { type: "value", max: 100 },
        series: [{ type: "line", name: d.overallLabel, data: d.yearOverall, label: { show: true } }]
      });
      charts.push(line);
    }
  }

  function resize() { charts.forEach(function (c) { c.resize(); }); }
  window.addEventListener("resize", resize);
  window.addEventListener("beforeprint", resize);
  window.addEventListener("afterprint", resize);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
