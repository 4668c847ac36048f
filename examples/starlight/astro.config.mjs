// A minimal Starlight site, served under /heaplab-docs/.
import { defineConfig } from "astro/config";
import starlight from "@astrojs/starlight";

export default defineConfig({
  base: "/heaplab-docs",
  integrations: [starlight({ title: "Heaplab in Starlight", sidebar: [{ label: "Coalescing", link: "/coalescing/" }] })],
});
