import react from "@vitejs/plugin-react";
import license from "rollup-plugin-license";
import { defineConfig } from "vite";

// Two pages, both served by pipegraph itself: the dashboard (index.html) and GraphiQL (graphiql.html, at GET
// /graphql). Everything they load is in dist/: nothing is fetched from another host at run time.
export default defineConfig({
  plugins: [
    react(),
    license({
      thirdParty: {
        includePrivate: false,
        output: { file: "dist/assets/THIRD_PARTY_LICENSES.txt" },
      },
    }),
  ],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 6000,
    rollupOptions: {
      input: { index: "index.html", graphiql: "graphiql.html" },
      onwarn(warning, warn) {
        // GraphiQL's packages carry React Compiler "use no memo" directives; bundling drops them, harmlessly.
        if (warning.code === "MODULE_LEVEL_DIRECTIVE") return;
        warn(warning);
      },
    },
  },
});
