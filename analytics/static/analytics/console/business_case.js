/* A business case's charts: cumulative cash flow per scenario by year (payback marked on each
   line), and each scenario's utilisation against the break-even utilisation. Data: the page's
   #case-chart-data (json_script). */
(function () {
  "use strict";

  function money(value) {
    var n = Number(value);
    var text = "¥" + Math.abs(n).toLocaleString("en-US", {
      minimumFractionDigits: 0, maximumFractionDigits: 0
    });
    return n < 0 ? "-" + text : text;
  }

  function draw() {
    var source = document.getElementById("case-chart-data");
    var lineBox = document.getElementById("case-chart");
    var barBox = document.getElementById("break-even-chart");
    if (!source || !lineBox || !window.echarts) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var labels = data.labels;
    var series = data.scenarios.map(function (s) {
      var line = {
        name: s.name,
        type: "line",
        data: s.points.map(function (p) { return [p[0], Number(p[1])]; }),
        symbolSize: 6
      };
      if (s.payback !== null) {
        var year = Number(s.payback);
        line.markPoint = {
          symbol: "pin",
          symbolSize: 42,
          data: [{ name: labels.payback, coord: [year, 0], value: year.toFixed(1) }],
          label: { formatter: function (p) { return p.value; } }
        };
        line.markLine = {
          symbol: "none",
          silent: true,
          lineStyle: { type: "dotted" },
          label: { formatter: labels.payback + " " + year.toFixed(2), position: "insideEndTop" },
          data: [{ xAxis: year }]
        };
      }
      return line;
    });
    series.push({
      name: labels.zero,
      type: "line",
      data: [],
      markLine: {
        symbol: "none",
        silent: true,
        lineStyle: { color: "#888", type: "dashed" },
        label: { formatter: labels.zero, position: "insideStartTop" },
        data: [{ yAxis: 0 }]
      }
    });
    var lineChart = window.echarts.init(lineBox);
    lineChart.setOption({
      animation: false,
      tooltip: {
        trigger: "axis",
        valueFormatter: function (v) { return money(v); }
      },
      legend: { top: 0, data: data.scenarios.map(function (s) { return s.name; }) },
      grid: { left: 16, right: 24, top: 40, bottom: 36, containLabel: true },
      xAxis: {
        type: "value", name: labels.year, nameLocation: "middle", nameGap: 26,
        min: 0, max: data.horizon, interval: 1
      },
      yAxis: {
        type: "value", name: labels.cumulative,
        axisLabel: { formatter: function (v) { return money(v); } }
      },
      series: series
    });

    var charts = [lineChart];
    if (barBox) {
      var bars = window.echarts.init(barBox);
      var bar = {
        name: labels.utilisation,
        type: "bar",
        barMaxWidth: 48,
        data: data.scenarios.map(function (s) { return Math.round(Number(s.utilisation) * 10000) / 100; }),
        label: { show: true, position: "top", formatter: "{c} %" }
      };
      if (data.break_even !== null) {
        var be = Math.round(Number(data.break_even) * 10000) / 100;
        bar.markLine = {
          symbol: "none",
          lineStyle: { color: "#d92d20", type: "dashed", width: 2 },
          label: {
            formatter: labels.break_even + " " + be + " %",
            position: "insideStartTop",
            backgroundColor: "rgba(255, 255, 255, 0.85)",
            padding: 2
          },
          data: [{ yAxis: be }]
        };
      }
      bars.setOption({
        animation: false,
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v + " %"; } },
        grid: { left: 16, right: 24, top: 24, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: data.scenarios.map(function (s) { return s.name; }) },
        yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value} %" } },
        series: [bar]
      });
      charts.push(bars);
    }
    window.addEventListener("resize", function () {
      charts.forEach(function (c) { c.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
