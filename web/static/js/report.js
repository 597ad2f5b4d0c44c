// Report charts, drawn from the JSON the page carries in #report-data, and redrawn to fit the
// boxes the print stylesheet gives them; the printed pages' running header and footer; the
// what-if question picker.
(function () {
  "use strict";
  var charts = [];
  var data = null;
  var MM = 96 / 25.4; // CSS pixels per millimetre
  // Canvas, not SVG: the SVG renderer writes style attributes, which the CSP refuses. Twice the
  // screen's pixels keep the printed charts sharp.
  var ratio = Math.max(2, window.devicePixelRatio || 1);

  function one(v) { return v === null || v === undefined ? "—" : Number(v).toFixed(1); }
  function zero(v) { return v === null ? 0 : v; }
  // Long names (English ones) break at spaces, so that they stay inside the narrow printed box.
  function wrap(name) {
    if (name.length <= 12 || name.indexOf(" ") < 0) return name;
    var lines = [""];
    name.split(" ").forEach(function (w) {
      var last = lines[lines.length - 1];
      if (last && (last + " " + w).length > 12) lines.push(w);
      else lines[lines.length - 1] = last ? last + " " + w : w;
    });
    return lines.join("\n");
  }

  function draw() {
    var node = document.getElementById("report-data");
    if (!node || typeof echarts === "undefined") return;
    var d = data = JSON.parse(node.textContent);
    // Tooltips written here as plain text: ECharts' own carry colour markers with inline
    // styles, which the CSP refuses.
    var esc = echarts.format.encodeHTML;
    var tooltip = { trigger: "item", formatter: function (p) {
      if (Array.isArray(p.value)) {
        return esc(p.name) + "<br>" + d.links.map(function (n, i) { return esc(n) + ": " + one(p.value[i]); }).join("<br>");
      }
      return esc(p.name) + ": " + one(p.value);
    } };
    var radarEl = document.getElementById("radar");
    if (radarEl) {
      var series = [{ name: d.selfLabel, value: d.self.map(zero), areaStyle: { opacity: 0.25 } }];
      if (d.peer) {
        series.push({ name: d.peerLabel, value: d.peer.map(zero),
                      lineStyle: { type: "dashed" }, symbol: "none" });
      }
      var radar = echarts.init(radarEl, null, { renderer: "canvas", devicePixelRatio: ratio });
      radar.setOption({
        animation: false,
        tooltip: tooltip,
        legend: { bottom: 0, data: series.map(function (s) { return s.name; }) },
        radar: { indicator: d.links.map(function (n) { return { name: wrap(n), max: 100 }; }),
                 radius: "58%", center: ["50%", "46%"] },
        series: [{ type: "radar", data: series }]
      });
      charts.push(radar);
    }
    var aspectsEl = document.getElementById("aspects");
    if (aspectsEl) {
      var bars = echarts.init(aspectsEl, null, { renderer: "canvas", devicePixelRatio: ratio });
      bars.setOption({
        animation: false,
        tooltip: tooltip,
        grid: { left: 8, right: 40, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: "value", max: 100 },
        yAxis: { type: "category", data: d.aspects, inverse: true, axisLabel: { formatter: wrap } },
        series: [{ type: "bar", data: d.aspectValues.map(zero), barMaxWidth: 18,
                   label: { show: true, position: "right", formatter: function (p) { return one(p.value); } } }]
      });
      charts.push(bars);
    }
    var yearsEl = document.getElementById("years");
    if (yearsEl && d.years.length > 1) {
      var line = echarts.init(yearsEl, null, { renderer: "canvas", devicePixelRatio: ratio });
      line.setOption({
        animation: false,
        tooltip: { trigger: "axis", formatter: function (ps) {
          return esc(ps[0].name) + "<br>" + ps.map(function (p) { return esc(p.seriesName) + ": " + one(p.value); }).join("<br>");
        } },
        grid: { left: 8, right: 32, top: 24, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: d.years },
        yAxis: { type: "value", max: 100 },
        series: [{ type: "line", name: d.overallLabel, data: d.yearOverall,
                   label: { show: true, formatter: function (p) { return one(p.value); } } }]
      });
      charts.push(line);
    }
    pageMargins();
  }

  // The print stylesheet sizes each chart box in mm (--print-width/--print-height on .chart);
  // the canvas is redrawn at that size before printing, since the screen-sized one would
  // overflow it. The size is read from the same custom properties the stylesheet uses.
  function printSize(el) {
    var st = getComputedStyle(el);
    var w = parseFloat(st.getPropertyValue("--print-width"));
    var h = parseFloat(st.getPropertyValue("--print-height"));
    return w && h ? { width: Math.floor(w * MM), height: Math.floor(h * MM) } : null;
  }
  function forPrint() {
    charts.forEach(function (c) {
      var size = printSize(c.getDom());
      if (size) {
        c.resize(size);
        // Printing takes its snapshot before the next animation frame: draw now.
        c.getZr().flush();
      }
    });
    pageMargins();
  }
  function forScreen() { charts.forEach(function (c) { c.resize({ width: "auto", height: "auto" }); }); }

  // The running header and footer live in the page-margin boxes of @page; their text is this
  // report's, so the rule is made here, as a constructed stylesheet (allowed by the CSP).
  function cssString(s) { return '"' + String(s).replace(/[\\"]/g, function (c) { return "\\" + c; }).replace(/\n/g, " ") + '"'; }
  var marginSheet = null;
  function pageMargins() {
    if (!data || !data.printHead || !("adoptedStyleSheets" in document)) return;
    var now = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var date = now.getFullYear() + "-" + pad(now.getMonth() + 1) + "-" + pad(now.getDate());
    var parts = data.printPage.split(/%\((page|pages)\)s/);
    var page = parts.map(function (p, i) {
      if (i % 2) return "counter(" + p + ")";
      return p ? cssString(p) : "";
    }).filter(Boolean).join(" ");
    var css = "@page {" +
      " @top-left { content: " + cssString(data.printHead) + "; font-size: 8pt; color: #555; }" +
      " @top-right { content: " + cssString(data.printStatus) + "; font-size: 8pt; color: #555; }" +
      " @bottom-left { content: " + cssString(data.printDate.replace("%(date)s", date)) + "; font-size: 8pt; color: #555; }" +
      " @bottom-right { content: " + page + "; font-size: 8pt; color: #555; } }";
    if (!marginSheet) {
      marginSheet = new CSSStyleSheet();
      document.adoptedStyleSheets = document.adoptedStyleSheets.concat([marginSheet]);
    }
    marginSheet.replaceSync(css);
  }

  window.addEventListener("resize", function () { if (!window.matchMedia("print").matches) forScreen(); });
  window.addEventListener("beforeprint", forPrint);
  window.addEventListener("afterprint", forScreen);
  var printMedia = window.matchMedia("print");
  var onMedia = function (e) { if (e.matches) forPrint(); else forScreen(); };
  if (printMedia.addEventListener) printMedia.addEventListener("change", onMedia);

  // What-if picker: a question already offered is ticked instead of added twice; the picker
  // goes back to its empty choice after each pick.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var el = e.detail.elt;
    if (!el || el.name !== "question" || !el.value) return;
    var box = document.querySelector('#whatif-fields [data-question="' + CSS.escape(el.value) + '"]');
    if (box) {
      e.preventDefault();
      var tick = box.querySelector('input[name="apply"]');
      if (tick && !tick.checked) { tick.checked = true; tick.dispatchEvent(new Event("change", { bubbles: true })); }
      box.scrollIntoView({ block: "nearest" });
      el.value = "";
    }
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.detail.target && e.detail.target.id === "whatif-fields") {
      var pick = document.querySelector('select[name="question"]');
      if (pick) pick.value = "";
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
