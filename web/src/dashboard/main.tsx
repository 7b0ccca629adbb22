import "./styles.css";

import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "urql";

import { App } from "./App";
import { makeClient } from "./client";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <Provider value={makeClient()}>
        <App />
      </Provider>
    </StrictMode>,
  );
}
