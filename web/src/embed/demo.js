// The embedding demo page: a link in the text with data-embed="<element id>"
// and data-step="<n>" moves that <heap-playground> to step n; the snippets
// to copy name this site's own address, so that they work pasted anywhere.
import "./heap-playground.js";

const here = new URL("./", location.href).href;
for (const code of document.querySelectorAll("#snippet, #iframe-snippet")) {
  code.textContent = code.textContent.replaceAll("https://example.org/heaplab/", here);
}

document.addEventListener("click", (event) => {
  const link = event.target.closest?.("a[data-embed][data-step]");
  if (!link) return;
  const embed = document.getElementById(link.dataset.embed);
  if (!embed || typeof embed.goTo !== "function") return;
  event.preventDefault();
  embed.goTo(Number(link.dataset.step));
  embed.scrollIntoView({ block: "nearest" });
});

Promise.all([...document.querySelectorAll("heap-playground")].map((e) => customElements.whenDefined("heap-playground").then(() => e.ready))).then(() => {
  document.body.dataset.ready = "true";
});
