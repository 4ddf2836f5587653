// The sales reports' charts: ECharts, only the parts used (funnel, bar, line, pie), rendered on canvas.
import * as echarts from "echarts/core";
import { BarChart, FunnelChart, LineChart, PieChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, FunnelChart, LineChart, PieChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

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
  draw("chart-funnel", {
    tooltip: { trigger: "item" },
    series: [{ type: "funnel", sort: "none", left: "5%", width: "90%", minSize: "10%", label: { position: "inside", formatter: "{b}: {c}", color: "#1f2937", textBorderColor: "#fff", textBorderWidth: 3 }, data: data.funnel }],
  });
  draw("chart-forecast", {
    tooltip: { trigger: "axis" },
    legend: { top: 0, data: [data.labels.amount, data.labels.weighted] },
    grid: { left: 70, right: 10, top: 40, bottom: 30 },
    xAxis: { type: "category", data: data.months },
    yAxis: { type: "value" },
    series: [
      { name: data.labels.amount, type: "bar", data: data.amount },
      { name: data.labels.weighted, type: "bar", data: data.weighted },
    ],
  });
  draw("chart-lost", {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["35%", "70%"], data: data.lost }],
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
