// For docs tools that add scripts only as classic <script src> tags (mdBook's
// `additional-js`): loads the module element.js from beside this file, which
// registers <heap-playground>. Shipped as is in the npm package (lib/).
(() => {
  const here = document.currentScript?.src ?? location.href;
  import(new URL("./element.js", here).href).catch((error) => console.warn(`heaplab: element.js did not load (${error.message})`));
})();
