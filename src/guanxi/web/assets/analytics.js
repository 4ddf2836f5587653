// The analytics dashboard's charts: ECharts (line, bar, funnel, heat map), canvas renderer, no CDN.
// Each chart's PNG button saves the drawn chart (ECharts getDataURL); CSV comes from the server.
import * as echarts from "echarts/core";
import { BarChart, FunnelChart, HeatmapChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent, VisualMapComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  BarChart,
  FunnelChart,
  HeatmapChart,
  LineChart,
  GridComponent,
  LegendComponent,
  TooltipComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

const charts = {};

function savePng(button) {
  const chart = charts[button.dataset.png];
  if (!chart) return;
  const link = document.createElement("a");
  link.href = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#ffffff" });
  link.download = button.dataset.filename || `${button.dataset.png}.png`;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

function draw(id, option) {
  const el = document.getElementById(id);
  if (!el) return null;
  const chart = echarts.init(el, null, { renderer: "canvas" });
  chart.setOption(option);
  window.addEventListener("resize", () => chart.resize());
  charts[id] = chart;
  return chart;
}

function start() {
  const source = document.getElementById("chart-data");
  if (!source) return;
  const data = JSON.parse(source.textContent);
  if (data.stages) {
    draw("chart-stages", {
      tooltip: { trigger: "axis" },
      grid: { left: 80, right: 20, top: 10, bottom: 20 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: data.stages.map((s) => s.name), inverse: true },
      series: [{ type: "bar", data: data.stages.map((s) => s.value) }],
    });
  }
  if (!data.trend) return;
  draw("chart-trend", {
    tooltip: { trigger: "axis" },
    legend: { top: 0, data: data.trend.map((s) => s.name) },
    grid: { left: 60, right: 50, top: 40, bottom: 30 },
    xAxis: { type: "category", data: data.months },
    yAxis: data.trend.map((_s, i) => ({ type: "value", position: i ? "right" : "left" })),
    series: data.trend.map((s, i) => ({ name: s.name, type: i ? "bar" : "line", yAxisIndex: i, data: s.values })),
  });
  draw("chart-funnel", {
    tooltip: { trigger: "item" },
    series: [{ type: "funnel", sort: "none", left: "5%", width: "90%", minSize: "10%", label: { position: "inside" }, data: data.funnel }],
  });
  draw("chart-segments", {
    tooltip: { trigger: "axis" },
    grid: { left: 110, right: 20, top: 10, bottom: 20 },
    xAxis: { type: "value" },
    yAxis: { type: "category", data: data.segments.map((s) => s.name), inverse: true },
    series: [{ type: "bar", data: data.segments.map((s) => s.value) }],
  });
  if (data.heat) {
    const narrow = window.innerWidth < 576;
    draw("chart-heat", {
      tooltip: { position: "top" },
      grid: { left: 40, right: 10, top: 10, bottom: 80 },
      xAxis: { type: "category", data: data.heat.hours, splitArea: { show: true }, axisLabel: { interval: narrow ? 3 : 0 } },
      yAxis: { type: "category", data: data.heat.days, inverse: true, splitArea: { show: true } },
      visualMap: {
        min: 0,
        max: Math.max(1, data.heat.peak),
        calculable: true,
        orient: "horizontal",
        left: "center",
        bottom: 0,
        itemHeight: narrow ? 100 : 140,
      },
      series: [{ type: "heatmap", data: data.heat.cells, emphasis: { itemStyle: { borderColor: "#333", borderWidth: 1 } } }],
    });
  }
  document.querySelectorAll("[data-png]").forEach((button) => button.addEventListener("click", () => savePng(button)));
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
