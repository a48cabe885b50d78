// Draws every <canvas data-chart="ID"> from the JSON spec in <script type="application/json" id="ID">
// (analytics.services.charts). Static, so the Content-Security-Policy needs no inline script.
(function () {
  "use strict";

  function money(value) {
    return Number(value).toLocaleString("en-IN", {maximumFractionDigits: 2});
  }

  function config(spec) {
    var stacked = Boolean(spec.stacked);
    return {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map(function (set) {
          return {label: set.label, data: set.data, backgroundColor: set.color, borderColor: set.color,
                  borderWidth: spec.type === "line" ? 2 : 0, pointRadius: spec.type === "line" ? 2 : 0,
                  spanGaps: true, tension: 0.2};
        })
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,  // drawn at once: pages are read, not watched (and browser tests see the final frame)
        interaction: {mode: "index", intersect: false},
        plugins: {
          title: {display: Boolean(spec.title), text: spec.title},
          legend: {position: "bottom", labels: {boxWidth: 12}},
          tooltip: {callbacks: {label: function (item) {
            return item.dataset.label + ": " + money(item.parsed.y);
          }}}
        },
        scales: {x: {stacked: stacked}, y: {stacked: stacked, beginAtZero: true}}
      }
    };
  }

  function draw() {
    if (typeof window.Chart === "undefined") {
      return;
    }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) {
        return;
      }
      var chart = new window.Chart(canvas, config(JSON.parse(source.textContent)));
      canvas.dataset.drawn = String(chart.data.datasets.length);  // browser tests wait for this
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
