import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed operations from the API's own schema file (`make schema` keeps it true): no server is asked.
const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.{ts,tsx}", "!src/gql/**/*"],
  ignoreNoDocuments: true,
  generates: {
    "src/gql/": {
      preset: "client",
      config: { useTypeImports: true, enumsAsTypes: true, scalars: { DateTime: "string", JSON: "unknown" } },
      presetConfig: { fragmentMasking: false },
    },
  },
};

export default config;
