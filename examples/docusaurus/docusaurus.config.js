// A minimal Docusaurus site: docs only, served under /heaplab-docs/.
// `clientModules` loads heaplab/element in the browser only (it registers
// <heap-playground>); the server-side render leaves the tag as it is.
module.exports = {
  title: "Heaplab in Docusaurus",
  url: "https://example.org",
  baseUrl: "/heaplab-docs/",
  onBrokenLinks: "throw",
  presets: [["classic", { docs: { routeBasePath: "/", sidebarPath: false }, blog: false, pages: false, theme: {} }]],
  clientModules: [require.resolve("heaplab/element")],
};
