// The printed cluster report's charts, drawn from the JSON the page carries in
// #cluster-report-data, and the printed pages' running header and footer.
//
// Each chart box has the same size on screen and on paper (cluster_report.css gives it in mm,
// as --print-width/--print-height), so a chart is drawn once, at its printed size, and never
// has to be squeezed into a smaller box when printing. Canvas, not SVG: the SVG renderer writes
// style attributes, which the CSP refuses; twice the screen's pixels keep the print sharp.
(function () {
  "use strict";
  var MM = 96 / 25.4; // CSS pixels per millimetre
  var ratio = Math.max(2, window.devicePixelRatio || 1);
  var charts = [];
  var data = null;

  // A figure as the report's tables show it: one decimal, a dash when missing.
  function one(v) { return v === null || v === undefined ? "—" : Number(v).toFixed(1); }
  function tenth(v) { return v === null || v === undefined ? null : Math.round(v * 10) / 10; }

  // The box's printed size in px, read from the custom properties the stylesheet sizes it by.
  function boxSize(el) {
    var st = getComputedStyle(el);
    var w = parseFloat(st.getPropertyValue("--print-width"));
    var h = parseFloat(st.getPropertyValue("--print-height"));
    return w && h ? { width: Math.floor(w * MM), height: Math.floor(h * MM) } : null;
  }

  function make(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    var size = boxSize(el) || {};
    var c = echarts.init(el, null, { renderer: "canvas", devicePixelRatio: ratio,
                                     width: size.width, height: size.height });
    charts.push(c);
    return c;
  }

  var small = { fontSize: 10 };

  function trajectory(d, L) {
    var t = d.trajectory;
    var chart = t && make("trajectory");
    if (!chart) return;
    var span = t.span.map(String);
    var observed = t.span.map(function (y) { var i = t.years.indexOf(y); return i < 0 ? null : t.rates[i]; });
    // The band as two stacked lines: its lower edge (invisible) and its width (shaded).
    var width = t.upper.map(function (v, i) {
      return v === null || t.lower[i] === null ? null : tenth(v - t.lower[i]);
    });
    var marks = (t.versions.changed || []).map(function (y) {
      return { xAxis: String(y), label: { formatter: L.newVersion, fontSize: 9 } };
    });
    chart.setOption({
      animation: false,
      textStyle: small,
      legend: { bottom: 0, data: [L.rate, L.goal, L.trend, L.band], textStyle: small },
      grid: { left: 6, right: 24, top: 22, bottom: 30, containLabel: true },
      xAxis: { type: "category", data: span, boundaryGap: false, axisLabel: small },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%", fontSize: 10 } },
      series: [
        { name: "_base", type: "line", data: t.lower, stack: "band", symbol: "none",
          lineStyle: { opacity: 0 }, silent: true },
        { name: L.band, type: "line", data: width, stack: "band", symbol: "none",
          lineStyle: { opacity: 0 }, areaStyle: { opacity: 0.18 }, silent: true },
        { name: L.trend, type: "line", data: t.fitted, symbol: "none", lineStyle: { type: "dotted" } },
        { name: L.goal, type: "line", data: t.glide, symbol: "none", lineStyle: { type: "dashed" } },
        { name: L.rate, type: "line", data: observed, connectNulls: false, symbolSize: 5,
          label: { show: true, fontSize: 9, formatter: function (p) { return one(p.value); } },
          markLine: marks.length ? { symbol: "none", data: marks, silent: true,
                                     lineStyle: { type: "solid", opacity: 0.5 } } : undefined }
      ]
    });
  }

  function levels(d, L) {
    var shown = (d.boxes || []).filter(function (b) { return b.box; });
    if (!shown.length) return;
    var years = shown.map(function (b) { return String(b.year); });
    var box = make("boxes");
    if (box) {
      box.setOption({
        animation: false,
        textStyle: small,
        grid: { left: 6, right: 12, top: 24, bottom: 6, containLabel: true },
        xAxis: { type: "category", data: years, axisLabel: small },
        yAxis: { type: "value", min: 0, max: 100, name: L.level, nameTextStyle: small, axisLabel: small },
        series: [{ type: "boxplot", data: shown.map(function (b) { return b.box; }), boxWidth: ["30%", "60%"] }]
      });
    }
    var stack = make("stages");
    if (stack) {
      stack.setOption({
        animation: false,
        textStyle: small,
        legend: { bottom: 0, textStyle: { fontSize: 9 }, itemWidth: 12, itemHeight: 8 },
        grid: { left: 6, right: 12, top: 12, bottom: 44, containLabel: true },
        xAxis: { type: "category", data: years, axisLabel: small },
        yAxis: { type: "value", minInterval: 1, axisLabel: small },
        series: d.stageIds.map(function (s, i) {
          return { name: d.stageNames[i], type: "bar", stack: "stage",
                   data: shown.map(function (b) { return b.stages[s]; }) };
        })
      });
    }
  }

  function links(d, L) {
    var chart = d.links && d.links.length && make("links");
    if (!chart) return;
    var label = { show: true, position: "top", fontSize: 9, formatter: function (p) { return one(p.value); } };
    chart.setOption({
      animation: false,
      textStyle: small,
      legend: { bottom: 0, data: [L.mine, L.region], textStyle: small },
      grid: { left: 6, right: 8, top: 18, bottom: 30, containLabel: true },
      xAxis: { type: "category", data: d.linkNames, axisLabel: { fontSize: 10, interval: 0 } },
      yAxis: { type: "value", min: 0, max: 100, axisLabel: small },
      series: [
        { name: L.mine, type: "bar", data: d.links.map(function (l) { return l.median; }), label: label },
        { name: L.region, type: "bar", data: d.links.map(function (l) { return l.region_median; }), label: label }
      ]
    });
  }

  // The running header and footer live in the page-margin boxes of @page; their text is this
  // report's, so the rule is made here, as a constructed stylesheet (allowed by the CSP).
  function cssString(s) {
    return '"' + String(s).replace(/[\\"]/g, function (c) { return "\\" + c; }).replace(/\n/g, " ") + '"';
  }
  var marginSheet = null;
  function pageMargins() {
    if (!data || !data.printHead || !("adoptedStyleSheets" in document)) return;
    var now = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var date = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
    var page = data.printPage.split(/%\((page|pages)\)s/).map(function (p, i) {
      if (i % 2) return "counter(" + p + ")";
      return p ? cssString(p) : "";
    }).filter(Boolean).join(" ");
    var style = "; font-size: 8pt; color: #555; }";
    var css = "@page {" +
      " @top-left { content: " + cssString(data.printHead) + style +
      " @top-right { content: " + cssString(data.printKind) + style +
      " @bottom-left { content: " + cssString(data.printDate.replace("%(date)s", date)) + style +
      " @bottom-right { content: " + page + style + " }";
    if (!marginSheet) {
      marginSheet = new CSSStyleSheet();
      document.adoptedStyleSheets = document.adoptedStyleSheets.concat([marginSheet]);
    }
    marginSheet.replaceSync(css);
  }

  // Printing takes its snapshot before the next animation frame: draw everything now.
  function forPrint() {
    charts.forEach(function (c) { c.getZr().flush(); });
    pageMargins();
  }

  function draw() {
    var node = document.getElementById("cluster-report-data");
    if (!node || typeof echarts === "undefined") return;
    data = JSON.parse(node.textContent);
    trajectory(data, data.labels);
    levels(data, data.labels);
    links(data, data.labels);
    pageMargins();
  }

  window.addEventListener("beforeprint", forPrint);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
