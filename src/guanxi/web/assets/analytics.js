// The analytics dashboard's charts: ECharts (line, bar, funnel), canvas renderer, no CDN.
import * as echarts from "echarts/core";
import { BarChart, FunnelChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, FunnelChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

function draw(id, option) {
  const el = document.getElementById(id);
  if (!el) return null;
  const chart = echarts.init(el, null, { renderer: "canvas" });
  chart.setOption(option);
  window.addEventListener("resize", () => chart.resize());
  return chart;
}

function start() {
  const source = document.getElementById("chart-data");
  if (!source) return;
  const data = JSON.parse(source.textContent);
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
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
