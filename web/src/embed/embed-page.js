// embed.html: one <heap-playground> filling the page, configured by the query
// string (embed.html?policy=best-fit&trace=traces/coalesce.rep&panels=map),
// for hosts that can place an iframe but not load a module. The element
// fills the iframe (height 100vh unless the query sets one).
import "./heap-playground.js";
import { EMBED_ATTRIBUTES } from "./embed-options.js";

const params = new URLSearchParams(location.search);
const element = document.createElement("heap-playground");
element.id = "embed";
for (const name of EMBED_ATTRIBUTES) {
  const value = params.get(name);
  if (value !== null) element.setAttribute(name, value);
}
if (!params.has("panels")) element.setAttribute("panels", "map console stats table");
// The element fills the iframe, whatever its size: the map shrinks to fit and
// the panels scroll inside, so nothing is cropped by the iframe's box.
if (!params.has("height")) element.setAttribute("height", "100vh");
document.querySelector("main").append(element);
element.ready.then(() => (document.body.dataset.ready = "true"));
