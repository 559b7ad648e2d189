/* The Fleet overview's trend chart: rental rate and utilisation per day (percent), for the
   whole fleet or the site picked in #trend-site. The data comes from the page's json_script
   element #fleet-trend-data (days, series [{key, name, rental_rate, utilisation}], labels). */
(function () {
  "use strict";

  function draw() {
    var holder = document.getElementById("fleet-trend");
    var source = document.getElementById("fleet-trend-data");
    if (!holder || !source || !window.echarts) {
      return;
    }
    var data = JSON.parse(source.textContent);
    var picker = document.getElementById("trend-site");
    var chart = window.echarts.init(holder);

    function percent(value) {
      return value === null || value === undefined ? "—" : value.toFixed(1) + " %";
    }

    function show(key) {
      var series = data.series.filter(function (s) { return s.key === key; })[0] || data.series[0];
      chart.setOption({
        animation: false,
        color: ["#1f6feb", "#d97706"],
        tooltip: { trigger: "axis", valueFormatter: percent },
        legend: { top: 0 },
        grid: { left: 56, right: 24, top: 36, bottom: 32 },
        xAxis: { type: "category", data: data.days, boundaryGap: false },
        yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value} %" } },
        series: [
          { name: data.labels.rental_rate, type: "line", data: series.rental_rate, showSymbol: false },
          { name: data.labels.utilisation, type: "line", data: series.utilisation, showSymbol: false }
        ]
      }, true);
      holder.setAttribute("data-series", series.key);
    }

    show(picker ? picker.value : "fleet");
    if (picker) {
      picker.addEventListener("change", function () { show(picker.value); });
    }
    window.addEventListener("resize", function () { chart.resize(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
