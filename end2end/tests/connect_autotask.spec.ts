import { test, expect } from "./fixtures/test";
import { connectSandbox, createPartner } from "./fixtures/partner";
import { hydrated, signIn } from "./fixtures/pages";

const shots = process.env.TB_SHOTS;

test("an admin connects Autotask and the test says exactly what is wrong, then that it works", async ({ page }) => {
  const admin = createPartner("Connect");
  await signIn(page, admin);
  await expect(page.getByTestId("connection-state")).toHaveText("Autotask: not set up");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Setup" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Integration setup" })).toBeVisible();
  await expect(page.getByTestId("connection-status")).toHaveText("Not set up");

  const form = page.getByRole("form", { name: "Autotask connection" });
  // Field checks run before anything is sent.
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form.getByText("Enter the API user's username")).toBeVisible();

  await form.getByLabel("API username").fill("sandbox-api@taskbridge.local");
  await form.getByLabel("Secret", { exact: true }).fill("not-the-secret");
  await form.getByLabel("API integration code (tracking identifier)").fill("TASKBRIDGE-SANDBOX");
  await expect(form.getByText("Unsaved changes")).toBeVisible();
  // Test connection tries what is typed, before anything is saved.
  await form.getByRole("button", { name: "Test connection" }).click();
  const result = page.getByTestId("connection-test");
  await expect(result).toContainText("These settings failed (not saved)");
  await expect(result).toContainText("rejected the API secret");
  await expect(page.getByTestId("connection-state")).toHaveText("Autotask: not set up");
  await form.getByRole("button", { name: "Save" }).click();
  // A new secret is saved only with the admin's own password, asked again.
  await expect(form.getByText("Enter your Taskbridge password to confirm.")).toBeVisible();
  await form.getByLabel("Your Taskbridge password").fill(admin.password);
  // Settings that fail their test are saved only when the admin says so.
  await form.getByRole("button", { name: "Save" }).click();
  const confirm = page.getByRole("alertdialog");
  await expect(confirm).toContainText("Save settings that failed the test?");
  await expect(confirm).toContainText("rejected the API secret");
  if (shots) await page.screenshot({ path: `${shots}/setup-save-failing.png`, fullPage: true });
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await expect(page.getByTestId("connection-status")).toHaveText("Not set up");
  await form.getByRole("button", { name: "Save" }).click();
  await confirm.getByRole("button", { name: "Save anyway" }).click();
  // The zone is discovered from the username.
  await expect(page.getByTestId("zone")).toContainText("Taskbridge Sandbox");
  await expect(form.getByLabel("Secret", { exact: true })).toHaveAttribute("placeholder", /Saved/);

  // Unchanged, Test connection tests the saved settings, whose state the page then shows.
  await form.getByRole("button", { name: "Test connection" }).click();
  await expect(result).toContainText("Connection failed");
  await expect(result).toContainText("rejected the API secret");
  await expect(page.getByTestId("connection-status")).toContainText("Error");

  // Settings that pass their test are saved at once (the password is still checked).
  await form.getByLabel("Secret", { exact: true }).fill("sandbox-secret");
  await form.getByLabel("Your Taskbridge password").fill("not my password");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form.getByText("That is not your password.")).toBeVisible();
  await expect(result).toContainText("These settings work (not saved yet)");
  await form.getByLabel("Your Taskbridge password").fill(admin.password);
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form.getByLabel("Secret", { exact: true })).toHaveValue("");
  await expect(form.getByLabel("Your Taskbridge password")).toHaveCount(0);
  await form.getByRole("button", { name: "Test connection" }).click();
  await expect(page.getByTestId("connection-test")).toContainText("Connected");
  await expect(page.getByTestId("connection-test")).toContainText("121 companies");
  await expect(page.getByTestId("connection-status")).toHaveText("Connected");
  // The header follows at once, and after a reload.
  await expect(page.getByTestId("connection-state")).toHaveText("Autotask: connected");
  await page.reload();
  await expect(page.getByTestId("connection-state")).toHaveText("Autotask: connected");
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Overview" }).click();
  await expect(page.getByTestId("overview-connection")).toHaveText("Connected");
});

test("the saved secret goes only to Autotask: another host is refused, and a new zone or user needs the secret again", async ({ page, request, baseURL }) => {
  const admin = createPartner("ZoneRule");
  await connectSandbox(request, baseURL!, admin);
  await signIn(page, admin);
  await page.goto("/setup");
  // The page is live before the checkbox is used (a click on the server-rendered page
  // would be undone by hydration).
  await hydrated(page);
  const form = page.getByRole("form", { name: "Autotask connection" });
  await expect(form.getByLabel("Secret", { exact: true })).toHaveAttribute("placeholder", /Saved/);
  // The region defaults to the zone found from the username; Autotask's zones are listed by name.
  const region = form.getByLabel("Region (Autotask zone)");
  await expect(region).toHaveValue("discovered");
  await expect(region.locator("option").first()).toHaveText("Found from the username \u2014 Taskbridge Sandbox");
  await expect(region.locator("option")).toContainText(["America East", "America East 2", "UK", "EU1", "Australia 2"]);
  await region.selectOption({ label: "America East" });
  await expect(form.getByLabel("Zone REST address")).toHaveCount(0);
  await form.getByRole("button", { name: "Save" }).click();
  // Checked in the browser before anything is sent.
  await expect(form.getByText("Enter the secret again: the username or the zone changed.")).toBeVisible();
  // With the secret, the server still refuses a host that is not Autotask's.
  await region.selectOption({ label: "Another address\u2026" });
  await form.getByLabel("Zone REST address").fill("https://attacker.example/?");
  await form.getByLabel("Secret", { exact: true }).fill("sandbox-secret");
  await form.getByLabel("Your Taskbridge password").fill(admin.password);
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form.getByText(/must not contain/)).toBeVisible();
  await form.getByLabel("Zone REST address").fill("https://attacker.example/ATServicesRest/");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form.getByText("attacker.example is not an Autotask host", { exact: false })).toBeVisible();
  if (shots) await page.screenshot({ path: `${shots}/setup-zone-refused.png`, fullPage: true });
  // Nothing saved was lost.
  await page.reload();
  await expect(form.getByLabel("API username")).toHaveValue("sandbox-api@taskbridge.local");
  await expect(form.getByLabel("Region (Autotask zone)")).toHaveValue("discovered");
  await expect(form.getByRole("button", { name: "Test connection" })).toBeEnabled();
});

test("until Autotask is connected, the Customer Map and Billing say what to finish and lead to Setup", async ({ page, request, baseURL }) => {
  const admin = createPartner("Gate");
  await signIn(page, admin);
  const nav = page.getByRole("navigation", { name: "Main" });
  await nav.getByRole("link", { name: "Customer Map" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Customer Map" })).toBeVisible();
  const gate = page.getByTestId("setup-gate");
  await expect(gate).toContainText("Finish Integration Setup first");
  await expect(page.getByTestId("map-counts")).toHaveCount(0);
  if (shots) await page.screenshot({ path: `${shots}/setup-gate.png`, fullPage: true });
  await nav.getByRole("link", { name: "Billing" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Billing" })).toBeVisible();
  await expect(page.getByText("Billing writes your customers' backup usage")).toBeVisible();
  await expect(gate).toContainText("Finish Integration Setup first");
  await gate.getByRole("link", { name: "Go to Setup" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Integration setup" })).toBeVisible();

  // Once connected, the pages open.
  await connectSandbox(request, baseURL!, admin);
  await page.goto("/map");
  await hydrated(page);
  await expect(page.getByTestId("map-counts")).toBeVisible();
  await expect(page.getByTestId("setup-gate")).toHaveCount(0);
});
