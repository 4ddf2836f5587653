// The shell's JavaScript: htmx for server round trips, Alpine for small local state,
// Tabler's bundle (Bootstrap) for the navbar collapse, dropdowns and dismissible alerts.
import htmx from "htmx.org";
import Alpine from "alpinejs";
import "@tabler/core/dist/js/tabler.esm.js";

window.htmx = htmx;
window.Alpine = Alpine;

// `x-data="copyable"`: a button that copies the text of the element referenced as `x-ref="source"`.
Alpine.data("copyable", () => ({
  copied: false,
  async copy() {
    const text = this.$refs.source.textContent.trim();
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      const range = document.createRange();
      range.selectNodeContents(this.$refs.source);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    this.copied = true;
    setTimeout(() => (this.copied = false), 2000);
  },
}));

Alpine.start();
