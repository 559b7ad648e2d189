/* The Revenue page's chart: revenue by month as stacked bars, one stack part per lease kind or
   card model. Data: the page's #revenue-chart-data (json_script). */
(function () {
  "use strict";

  function money(value) {
    var n = Number(value);
    var text = "¥" + Math.abs(n).toLocaleString("en-US", {
      minimumFractionDigits: 2, maximumFractionDigits: 2
    });
    return n < 0 ? "-" + text : text;
  }

  function draw() {
    var source = document.getElementById("revenue-chart-data");
    var box = document.getElementById("revenue-chart");
    if (!source || !box || !window.echarts) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(box);
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: money },
      legend: { top: 0 },
      grid: { left: 16, right: 24, top: 40, bottom: 8, containLabel: true },
      xAxis: { type: "category", data: data.months },
      yAxis: {
        type: "value",
        name: data.labels.amount,
        axisLabel: {
          formatter: function (v) {
            return "¥" + Number(v).toLocaleString("en-US", { maximumFractionDigits: 0 });
          }
        }
      },
      series: data.series.map(function (s) {
        return {
          name: s.name,
          type: "bar",
          stack: "revenue",
          barMaxWidth: 56,
          emphasis: { focus: "series" },
          data: s.data.map(Number)
        };
      })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
