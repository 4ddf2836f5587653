// Bundles the shell's assets into ../static/build/ (git-ignored): app.js and app.css, kanban.js, charts.js.
// Run by `npm run build` at set-up time; nothing is fetched at run time.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));

await build({
  entryPoints: [
    { in: path.join(here, "main.js"), out: "app" },
    { in: path.join(here, "main.css"), out: "app" },
    // page scripts loaded only where used: the sales kanban (SortableJS) and the sales charts (ECharts)
    { in: path.join(here, "kanban.js"), out: "kanban" },
    { in: path.join(here, "charts.js"), out: "charts" },
    // the feedback reports' charts (ECharts), loaded only on that page
    { in: path.join(here, "feedback-charts.js"), out: "feedback-charts" },
    // the analytics dashboard (ECharts too)
    { in: path.join(here, "analytics.js"), out: "analytics" },
  ],
  outdir: path.join(here, "..", "static", "build"),
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "iife",
  target: ["es2020", "chrome100", "firefox100", "safari15"],
  legalComments: "eof",
  logLevel: "warning",
});
