/* The DOM helper every webmap page script shares: each page loads this file before its own scripts
 * (map.js, panels.js, extract.js, incident-form.js), which read it as `window.webmap.el`.
 */
(function () {
  "use strict";

  var webmap = (window.webmap = window.webmap || {});

  /* A new `tag` element with the class `className` (none when falsy) holding `text` (none when null
   * or undefined). The text goes in with textContent, never as HTML: strings from the database or a
   * report are safe in it. */
  webmap.el = function (tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };
})();
