import { test, expect } from "./fixtures/test";
import { connectSandbox, createPartner } from "./fixtures/partner";
import { hydrated, signIn } from "./fixtures/pages";


const shots = process.env.TB_SHOTS;

test("an admin discovers companies with live progress, filters them, and imports a page where some rows fail with the reason beside them", async ({ page, request, baseURL }) => {
  const admin = createPartner("Companies");
  await connectSandbox(request, baseURL!, admin);
  await signIn(page, admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Companies" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Companies" })).toBeVisible();
  await expect(page.getByText("No companies discovered yet")).toBeVisible();

  await page.getByTestId("discover").click();
  const job = page.getByTestId("job-discover");
  await expect(job).toBeVisible();
  await expect(job).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  await expect(job).toContainText("Discovered 121 companies in Autotask (121 new)");
  await expect(page.locator(".pager")).toContainText("1\u201350 of 121");

  // Filters live in the URL, so a reload shows the same view.
  await page.getByLabel("Rows").selectOption("25");
  await expect(page).toHaveURL(/per=25/);
  await page.getByLabel("Search").fill("zzz-no-such-company");
  await expect(page.getByText("No company matches these filters")).toBeVisible();
  await expect(page).toHaveURL(/q=zzz-no-such-company/);
  await page.getByRole("button", { name: "Clear the filters" }).click();
  await expect(page.locator(".pager")).toContainText("of 121");

  // Each company shows how to reach it; its web site opens in a new tab.
  const site = page.getByTestId("company-reach").locator("a").first();
  await expect(site).toHaveAttribute("href", /^https:\/\//);
  await expect(site).toHaveAttribute("target", "_blank");

  // "Would fail" rows say why before anything is imported.
  await page.getByLabel("Import status").selectOption("problem");
  await expect(page).toHaveURL(/status=problem/);
  const wouldFail = page.locator("tbody tr").first().getByTestId("status");
  await expect(wouldFail.locator(".badge")).toHaveText(/Would fail/);
  // The reason is shown beside the status, without hovering.
  await expect(wouldFail.locator(".badge-reason")).toBeVisible();
  expect(((await wouldFail.locator(".badge-reason").textContent()) ?? "").length).toBeGreaterThan(10);
  await page.getByLabel("Import status").selectOption("");

  // Select the first page and import it.
  await page.getByLabel("Rows").selectOption("25");
  // Wait for the unfiltered page to be the one shown: the header box selects the rows on screen.
  await expect(page).not.toHaveURL(/status=/);
  await expect(page.locator(".pager")).toContainText("1\u201325 of 121");
  await expect(page.locator("tbody tr")).toHaveCount(25);
  await page.getByLabel("Select every company on this page").check();
  await expect(page.locator(".selection-bar")).toContainText("25 selected.");
  await page.getByTestId("import").click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText("Import 25 companies as Taskbridge customers?");
  // The confirmation says what will happen before anything does.
  const plan = dialog.getByTestId("import-plan");
  await expect(plan.getByTestId("plan-create")).toContainText(/\d+ new customers?/);
  await expect(plan.getByTestId("plan-fail")).toContainText(/\d+ compan(y|ies) would fail/);
  await expect(plan.getByRole("link", { name: "show the companies with a problem" })).toHaveAttribute("href", "/companies?status=problem");
  const count = async (id: string) => Number((await plan.getByTestId(id).locator("strong").innerText()).replace(/\D/g, ""));
  const [creating, failing] = [await count("plan-create"), await count("plan-fail")];
  expect(creating + failing).toBe(25);
  if (shots) await page.screenshot({ path: `${shots}/companies-import-confirm.png` });
  await dialog.getByRole("button", { name: "Import" }).click();
  const importJob = page.getByTestId("job-import");
  await expect(importJob).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  await expect(importJob).toContainText(`Imported ${creating} of 25 companies as customers (${creating} new, 0 updated); ${failing} failed`);

  const failed = page.locator("tbody .badge-bad").first();
  await expect(failed).toHaveText(/FAILED/);
  await expect(page.locator("tbody .badge-good").first()).toHaveText("Imported");
  // The reason is shown under the status, in the row (read in turn by screen readers, never
  // a tooltip clipped by the table).
  const reason = page.locator("tbody .badge-block:has(.badge-bad) .badge-reason").first();
  await expect(reason).toBeVisible();
  expect(((await reason.textContent()) ?? "").length).toBeGreaterThan(10);

  // Statuses and the view survive a reload.
  await page.reload();
  await hydrated(page);
  await expect(page).toHaveURL(/per=25/);
  await page.getByLabel("Import status").selectOption("failed");
  await expect(page.locator("tbody tr").first().getByTestId("status")).toContainText("FAILED");
  await page.getByLabel("Import status").selectOption("imported");
  await expect(page.locator("tbody tr").first().getByTestId("status")).toContainText("Imported");
  // The shared pager carries when the list was discovered.
  await expect(page.getByRole("navigation", { name: "Pages" })).toContainText(/of [\d,]+ \u00b7 discovered/);
  if (shots) await page.screenshot({ path: `${shots}/companies.png`, fullPage: true });
});
