import { defineConfig } from "@playwright/test";
import * as path from "node:path";

// One throwaway Taskbridge (SQLite in target/e2e-data) for the whole run; every test makes
// its own partner through the real `taskbridge admin create-partner` command.
const root = path.resolve(__dirname, "..");
export const E2E_DATA_DIR = path.join(root, "target", "e2e-data");
export const TASKBRIDGE_BIN = path.join(root, "target", "debug", "taskbridge");
const PORT = 3100;
export const SANDBOX_PORT = 3101;

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: [["list"]],
  // Specs that create companies in the shared sandbox run after the ones that count them
  // (the two of them side by side: concurrent writers on one SQLite file must just work).
  projects: [
    { name: "console", testIgnore: /(notifications|billing_push|history|contacts|clients|dispatch_outage)\.spec\.ts/ },
    { name: "tickets", testMatch: /notifications\.spec\.ts/, dependencies: ["console"] },
    { name: "billing-push", testMatch: /(billing_push|history)\.spec\.ts/, dependencies: ["console"] },
    { name: "contacts", testMatch: /(contacts|clients)\.spec\.ts/, dependencies: ["console"] },
    // Makes the shared sandbox fail every call, so it runs after everything else.
    { name: "outage", testMatch: /dispatch_outage\.spec\.ts/, dependencies: ["tickets", "billing-push", "contacts"] },
  ],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [
    {
      // The local Autotask that the Setup tests connect to.
      command: `exec "${TASKBRIDGE_BIN}" sandbox --listen 127.0.0.1:${SANDBOX_PORT} --seed 3 --companies 120`,
      url: `http://127.0.0.1:${SANDBOX_PORT}/_sandbox`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore",
      stderr: "pipe",
    },
    {
      command: `rm -rf "${E2E_DATA_DIR}" && exec "${TASKBRIDGE_BIN}" serve --listen 127.0.0.1:${PORT} --data-dir "${E2E_DATA_DIR}" --public-url http://127.0.0.1:${PORT} --site-root "${path.join(root, "target", "site")}" --autotask-discovery-url http://127.0.0.1:${SANDBOX_PORT}/ATServicesRest/`,
      url: `http://127.0.0.1:${PORT}/api/v1/health`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: "ignore",
      stderr: "pipe",
    },
  ],
});
