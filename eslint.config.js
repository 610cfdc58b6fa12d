// ESLint for webmap's own browser JavaScript (webmap/static/js), never the vendored libraries.
// The files are classic scripts, each one IIFE: they share state only through the `window.webmap`
// namespace (dom.js and map.js fill it; panels.js, extract.js and incident-form.js read it), and
// read Leaflet's global `L` where they draw a map. Chart.js is read as `window.Chart`, since
// panels.js loads it late.
const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  { ignores: ["webmap/static/vendor/**"] },
  js.configs.recommended,
  {
    files: ["webmap/static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: { ...globals.browser },
    },
    // Each file is one IIFE: a top-level declaration would silently become a property of `window`.
    rules: { "no-implicit-globals": "error" },
  },
  {
    files: ["webmap/static/js/map.js", "webmap/static/js/extract.js", "webmap/static/js/incident-form.js"],
    languageOptions: { globals: { L: "readonly" } },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "commonjs", globals: { ...globals.node } },
  },
];
