// The feedback reports' charts: ECharts (line and bar only), rendered on canvas from the page's JSON.
import * as echarts from "echarts/core";
import { BarChart, LineChart } from "echarts/charts";
import { GridComponent, LegendComponent, TooltipComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

function draw(id, option) {
  const el = document.getElementById(id);
  if (!el) return;
  const chart = echarts.init(el, null, { renderer: "canvas" });
  chart.setOption(option);
  window.addEventListener("resize", () => chart.resize());
}

function start() {
  const source = document.getElementById("feedback-chart-data");
  if (!source) return;
  const data = JSON.parse(source.textContent);
  const grid = { left: 40, right: 40, top: 40, bottom: 30 };
  draw("chart-scores", {
    tooltip: { trigger: "axis" },
    legend: { top: 0 },
    grid,
    xAxis: { type: "category", data: data.months },
    yAxis: [{ type: "value", min: -100, max: 100 }, { type: "value", min: 1, max: 7 }],
    series: [
      { name: data.labels.nps, type: "line", data: data.nps },
      { name: data.labels.csat, type: "line", data: data.csat },
      { name: data.labels.ces, type: "line", yAxisIndex: 1, data: data.ces },
    ],
  });
  draw("chart-groups", {
    tooltip: { trigger: "axis" },
    legend: { top: 0, type: "scroll" },
    grid,
    xAxis: { type: "category", data: data.months },
    yAxis: { type: "value", min: -100, max: 100 },
    series: (data.series || []).map((g) => ({ name: g.name, type: "line", connectNulls: true, data: g.data })),
  });
  draw("chart-topics", {
    tooltip: { trigger: "axis" },
    legend: { top: 0, type: "scroll" },
    grid,
    xAxis: { type: "category", data: data.trend_months },
    yAxis: { type: "value" },
    series: data.topics.map((t) => ({ name: t.name, type: "bar", stack: "topics", data: t.data })),
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
