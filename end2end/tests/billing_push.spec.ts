import { test, expect } from "./fixtures/test";
import { randomUUID } from "node:crypto";
import { autotaskCreate, connectSandbox, createPartner, createToken } from "./fixtures/partner";
import { hydrated, signIn } from "./fixtures/pages";

const shots = process.env.TB_SHOTS;

test("preview a push, apply a selection, see it in the history, and undo it", async ({ page, request, baseURL }) => {
  const admin = createPartner("Push");
  await connectSandbox(request, baseURL!, admin);
  const headers = { Origin: baseURL!, Accept: "application/json" };
  const suffix = randomUUID().slice(0, 6);
  // A customer on a recurring contract that bills 2 server licences and no storage yet.
  const company = await autotaskCreate(request, "Companies", { companyName: `Push Dental ${suffix}`, companyType: 1, ownerResourceID: 29682885, isActive: true, countryID: 237 });
  const contract = await autotaskCreate(request, "Contracts", { companyID: company, contractName: `Managed Backup ${suffix}`, contractType: 7, status: 1, startDate: "2025-01-01T00:00:00Z", endDate: "2030-12-31T00:00:00Z" });
  await autotaskCreate(request, `Contracts/${contract}/Services`, { serviceID: 29683101, unitPrice: 45 });
  await autotaskCreate(request, `Contracts/${contract}/Services`, { serviceID: 29683103, unitPrice: 8 });
  const month = new Date().toISOString().slice(0, 7);
  await autotaskCreate(request, "ContractServiceAdjustments", { contractID: contract, serviceID: 29683101, effectiveDate: `${month}-01T00:00:00Z`, unitChange: 2 });
  const token = await createToken(request, baseURL!, admin, `Platform ${suffix}`);
  const ref = `push-${suffix}`;
  const customer = (await (await request.post("/api/v1/customers", { data: { customers: [{ ref, name: `Push Dental ${suffix}` }] }, headers: { Authorization: `Bearer ${token}` } })).json()).results[0].customer_id;
  const saved = await request.post("/rpc/save_customer_map", { data: { changes: [{ op: "link", customer_id: customer, company_id: company }, { op: "set_contract", customer_id: customer, contract_id: contract, confirm_flags: true }] }, headers });
  expect(saved.ok()).toBeTruthy();
  const settings = await (await request.post("/rpc/get_billing_settings", { headers })).json();
  settings.mappings[0].service_id = 29683101;
  settings.mappings[4].service_id = 29683103;
  settings.mappings[4].unit_size = 100;
  expect((await request.post("/rpc/save_billing_settings", { data: { mappings: settings.mappings }, headers })).ok()).toBeTruthy();
  const usage = await request.post("/api/v1/usage", {
    data: { usage: [{ customer_ref: ref, product: "server_backup", period: month, quantity: 5 }, { customer_ref: ref, product: "cloud_storage_gb", period: month, quantity: 1234, measured_at: new Date().toISOString() }] },
    headers: { Authorization: `Bearer ${token}` },
  });
  expect(usage.ok()).toBeTruthy();

  await signIn(page, admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Billing" }).click();
  await expect(page.getByTestId("preview-summary")).toContainText("2 changes,");
  const licences = page.getByRole("table", { name: "Preview" }).locator("tr[data-product=server_backup]");
  await expect(licences).toContainText("+3");
  await expect(licences).toContainText("+135.00");
  // Each line carries the customer's ID, so two customers of one name differ.
  await expect(licences).toContainText(`Push Dental ${suffix} #${customer}`);
  await expect(page.getByRole("table", { name: "Preview" }).locator("tr[data-product=cloud_storage_gb]")).toContainText("+13");
  if (shots) await page.screenshot({ path: `${shots}/billing-preview.png`, fullPage: true });

  // The search narrows the preview, lives in the URL, and Apply takes only what matches.
  await page.getByLabel("Customer or product").fill("licence");
  await page.getByLabel("Customer or product").press("Enter");
  await expect(page).toHaveURL(/q=licence/);
  await expect(page.getByRole("table", { name: "Preview" }).locator("tbody tr")).toHaveCount(1);
  await expect(page.getByTestId("apply-all")).toHaveText("Sync matching (1 change)");
  await page.getByLabel("Customer or product").fill("");
  await page.getByLabel("Customer or product").press("Enter");
  await expect(page.getByRole("table", { name: "Preview" }).locator("tbody tr")).toHaveCount(2);
  await expect(page.getByTestId("apply-all")).toHaveText("Sync now (2 changes)");

  // Apply only the licences.
  await licences.getByRole("checkbox").check();
  await page.getByTestId("apply-selected").click();
  await expect(page.getByTestId("push-result")).toContainText("1 applied");
  await expect(page.getByTestId("preview-summary")).toContainText("1 change,");
  await expect(licences).toContainText("Up to date");
  const history = page.getByRole("table", { name: "Push history" });
  await expect(history.locator("tbody tr")).toHaveCount(1);
  await history.getByRole("button", { name: "Lines" }).click();
  await expect(page.getByRole("table", { name: "Push lines" })).toContainText("Applied");

  // Undo it: the licences are back to 2 and the undo is in the history.
  await history.getByRole("button", { name: "Undo" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Undo" }).click();
  await expect(history.locator("tbody tr")).toHaveCount(2);
  await expect(history.locator("tbody tr").first()).toContainText("Undo of push");
  await expect(licences).toContainText("+3");
  if (shots) await page.screenshot({ path: `${shots}/billing-history.png`, fullPage: true });

  // Changes above the threshold saved on Setup are held here too; the page may choose
  // another threshold (kept in the URL) or go back to Setup's.
  expect((await request.post("/rpc/save_billing_schedule", { data: { schedule: { every_hours: 24, hold_above: 5, enabled: true, next_run_at: null } }, headers })).ok()).toBeTruthy();
  await page.reload();
  await hydrated(page);
  const hold = page.getByLabel("Hold changes larger than (units)");
  await expect(hold).toHaveValue("5");
  const storage = page.getByRole("table", { name: "Preview" }).locator("tr[data-product=cloud_storage_gb]");
  await expect(storage).toContainText("Held");
  await expect(page.getByTestId("preview-summary")).toContainText("1 change of more than 5 units held for approval.");
  await hold.fill("20");
  await hold.press("Tab");
  await expect(page).toHaveURL(/hold=20/);
  await expect(storage).toContainText("Will change");
  await page.getByRole("button", { name: "Use Setup’s threshold" }).click();
  await expect(storage).toContainText("Held");
  await expect(hold).toHaveValue("5");

  // Sync writes the licences and holds the storage; the storage is then approved on its own.
  await page.getByTestId("apply-all").click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText("except changes of more than 5 units, which are held for approval");
  await dialog.getByRole("button", { name: "Write to Autotask" }).click();
  await expect(page.getByTestId("push-result")).toContainText("1 applied, 0 already up to date, 1 held");
  await expect(licences).toContainText("Up to date");
  await storage.getByRole("button", { name: /^Approve/ }).click();
  await expect(dialog).toContainText("Writes an adjustment of +13 units");
  await expect(dialog).toContainText("Autotask will bill 13 instead of 0");
  if (shots) await page.screenshot({ path: `${shots}/billing-approve.png`, fullPage: true });
  await dialog.getByRole("button", { name: "Write to Autotask" }).click();
  await expect(page.getByTestId("push-result")).toContainText("1 applied, 0 already up to date, 0 held");
  await expect(storage).toContainText("Up to date");

  // The Overview says how the latest push ended and leads to it.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Overview" }).click();
  const lastPush = page.getByTestId("overview-last-push");
  await expect(lastPush).toContainText("OK");
  await expect(page.getByTestId("overview-unmapped")).toContainText("Every customer is linked");
  if (shots) await page.screenshot({ path: `${shots}/overview-checks.png`, fullPage: true });
  await lastPush.getByRole("link", { name: "See the run" }).click();
  await expect(page).toHaveURL(/\/history\/\d+$/);
});
