import { test, expect } from "./fixtures/test";
import { randomUUID } from "node:crypto";
import { autotaskCreate, billedCustomer, connectSandbox, createPartner, createToken, discoverCompanies, registerCustomers } from "./fixtures/partner";
import { hydrated, signIn } from "./fixtures/pages";

const shots = process.env.TB_SHOTS;

test("a push's skipped line is on the History with its reason, and the customer's runs are one click away", async ({ page, request, baseURL }) => {
  const admin = createPartner("History");
  await connectSandbox(request, baseURL!, admin);
  const headers = { Origin: baseURL!, Accept: "application/json" };
  const suffix = randomUUID().slice(0, 6);
  // A contract without the server licence service: its line cannot be written.
  const company = await autotaskCreate(request, "Companies", { companyName: `History Dental ${suffix}`, companyType: 1, ownerResourceID: 29682885, isActive: true, countryID: 237 });
  const contract = await autotaskCreate(request, "Contracts", { companyID: company, contractName: `Backup ${suffix}`, contractType: 7, status: 1, startDate: "2025-01-01T00:00:00Z", endDate: "2030-12-31T00:00:00Z" });
  const token = await createToken(request, baseURL!, admin, `Platform ${suffix}`);
  const name = `History Dental ${suffix}`;
  const customer = await billedCustomer(request, baseURL!, token, { ref: `hist-${suffix}`, name, company, contract, licences: 4 });
  expect((await request.post("/rpc/apply_push", { data: { selection: { lines: null, hold_above: null } }, headers })).ok()).toBeTruthy();

  await signIn(page, admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "History" }).click();
  await expect(page.getByRole("heading", { name: "History", level: 1 })).toBeVisible();
  const runs = page.getByRole("table", { name: "Runs" });
  await expect(runs.locator("tbody tr").first()).toContainText("Billing push");
  if (shots) await page.screenshot({ path: `${shots}/history.png`, fullPage: true });

  // Filters live in the URL.
  await page.getByLabel("Kind").selectOption("push");
  await expect(page).toHaveURL(/kind=push/);
  await expect(runs.locator("tbody tr")).toHaveCount(1);
  await page.getByLabel("Outcome").selectOption("failed");
  await expect(page.getByText("No run matches these filters")).toBeVisible();
  await page.getByRole("button", { name: "Clear the filters" }).click();
  await expect(page).toHaveURL(/\/history$/);

  // Open the push: the skipped line and its reason.
  await runs.getByRole("link", { name: /Billing push/ }).first().click();
  await expect(page).toHaveURL(/\/history\/\d+$/);
  const lines = page.getByRole("table", { name: "Records skipped or failed" });
  await expect(lines.locator("tbody tr")).toHaveCount(1);
  await expect(lines.getByTestId("line-reason")).toContainText("not on the billing contract");
  await expect(page.getByRole("link", { name: "Export CSV" })).toHaveAttribute("href", /\/exports\/runs\/\d+\.csv$/);
  if (shots) await page.screenshot({ path: `${shots}/history-run.png`, fullPage: true });

  // The customer's runs.
  await lines.getByRole("link", { name }).click();
  await expect(page).toHaveURL(new RegExp(`customer=${customer}`));
  await expect(page.getByTestId("history-customer")).toContainText(`Runs that concern ${name}`);
  await expect(runs.locator("tbody tr")).toHaveCount(1);

  // Its timeline: the push run with the skipped line's reason, and the map changes.
  await page.getByRole("link", { name: "Open the customer's timeline" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(`Timeline: ${name}`);
  const timeline = page.getByRole("list", { name: "Timeline" });
  await expect(timeline).toContainText("not on the billing contract");
  await expect(timeline).toContainText(`Linked “${name}”`);
  await expect(page.getByRole("link", { name: "Runs", exact: true })).not.toHaveAttribute("aria-current", "page");

  // Settings changes: the billing mapping with its value before and after; filters in the URL.
  await page.getByRole("link", { name: "Settings changes" }).click();
  await expect(page).toHaveURL(/\/history\/changes$/);
  await expect(page.getByRole("link", { name: "Settings changes" })).toHaveAttribute("aria-current", "page");
  await page.getByLabel("Settings", { exact: true }).selectOption("billing");
  await expect(page).toHaveURL(/area=billing/);
  const changes = page.getByRole("table", { name: "Settings changes" });
  await expect(changes.locator("tr[data-change-id]")).toHaveCount(1);
  const values = changes.getByRole("table", { name: "Values before and after" });
  await expect(values).toContainText("Service");
  await expect(values).toContainText("Do not map");
  if (shots) await page.screenshot({ path: `${shots}/history-changes.png`, fullPage: true });
  // The retention is an admin's setting, kept as a change too.
  await page.getByLabel("Keep runs and settings changes for (days)").fill("180");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await expect(page.getByText("Saved. History is kept for 180 days.")).toBeVisible();
});

test("an import's failed company is retried from the History once its cause is fixed", async ({ page, request, baseURL }) => {
  const admin = createPartner("Retry");
  await connectSandbox(request, baseURL!, admin);
  const headers = { Origin: baseURL!, Accept: "application/json" };
  const suffix = randomUUID().slice(0, 6);
  const name = `Retry Redwood ${suffix}`;
  const company = await autotaskCreate(request, "Companies", {
    companyName: name, companyType: 1, ownerResourceID: 29682885, isActive: true, address1: "1 Main St", city: "Austin", state: "TX", countryID: 237, phone: "+1 512 555 0100",
  });
  await autotaskCreate(request, `Companies/${company}/Contacts`, { firstName: "Pat", lastName: "Lee", emailAddress: `pat-${suffix}@retry.example`, isActive: 1, primaryContact: true });
  // Two customers of the backup platform bear the company's name: the import cannot tell which to link.
  await registerCustomers(request, baseURL!, admin, [{ ref: `a-${suffix}`, name }, { ref: `b-${suffix}`, name }]);
  await discoverCompanies(request, baseURL!);
  const started = await request.post("/rpc/import_companies", { data: { selection: { ids: [company] } }, headers });
  expect(started.ok()).toBeTruthy();
  const job = await started.json();
  await expect.poll(async () => (await (await request.post("/rpc/get_job", { form: { job_id: String(job.job_id) }, headers })).json()).state).toBe("done");

  await signIn(page, admin);
  await page.goto("/history?kind=import");
  await page.getByRole("table", { name: "Runs" }).getByRole("link", { name: /Company import/ }).click();
  await expect(page.getByTestId("run-outcome")).toContainText("Failed");
  await expect(page.getByTestId("line-reason")).toContainText("2 Taskbridge customers without a link are named");

  // The partner renames one customer, then retries just the failed company.
  await registerCustomers(request, baseURL!, admin, [{ ref: `b-${suffix}`, name: `${name} West` }]);
  await page.getByTestId("retry-failed").click();
  const retriedBy = page.getByTestId("retried-by");
  await expect(retriedBy).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("retry-failed")).toHaveCount(0);
  await retriedBy.getByRole("link").click();
  await expect(page.getByTestId("run-outcome")).toContainText("OK");
  await expect(page.getByText("Retry of")).toBeVisible();
  await expect(page.getByText("No record was skipped or failed")).toBeVisible();
  if (shots) await page.screenshot({ path: `${shots}/history-retry.png`, fullPage: true });
});

test("Autotask API usage shows the partner's calls by feature and hour against the budget", async ({ page, request, baseURL }) => {
  const admin = createPartner("Usage");
  await connectSandbox(request, baseURL!, admin);
  await discoverCompanies(request, baseURL!);

  await signIn(page, admin);
  await page.goto("/history");
  await page.getByRole("navigation", { name: "History lists" }).getByRole("link", { name: "Autotask API usage" }).click();
  await expect(page).toHaveURL(/\/history\/usage$/);
  // Calls are written every few seconds: read the page again until they show.
  await expect
    .poll(async () => {
      await page.reload();
      return (await page.getByTestId("usage-calls").textContent({ timeout: 5_000 }).catch(() => "0")) ?? "0";
    }, { timeout: 40_000, intervals: [2_000] })
    .not.toBe("0");
  const features = page.getByRole("table", { name: "By feature" });
  await expect(features.locator("tr[data-feature=discovery] td").first()).toHaveText("Discovery and import");
  const hours = page.getByRole("table", { name: "By hour" });
  await expect(hours.locator("tbody tr").filter({ hasText: /of [\d,]+ \(\d+%\)/ }).first()).toBeVisible();
  await expect(page.getByTestId("usage-peak")).toHaveText(/\d+%/);
  if (shots) await page.screenshot({ path: `${shots}/history-usage.png`, fullPage: true });

  // The period lives in the URL (chosen once the reloaded page is live).
  await hydrated(page);
  await page.getByLabel("Period", { exact: true }).selectOption("168");
  await expect(page).toHaveURL(/hours=168/);
  await expect(page.getByTestId("usage-calls")).not.toHaveText("0");
});
