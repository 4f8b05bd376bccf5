import { test, expect } from "./fixtures/test";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { E2E_DATA_DIR, TASKBRIDGE_BIN } from "../playwright.config";
import { autotaskCreate, connectSandbox, createPartner, discoverCompanies, firstCompanies, registerCustomers } from "./fixtures/partner";
import { hydrated, signIn } from "./fixtures/pages";

const shots = process.env.TB_SHOTS;

test("an admin confirms suggested matches, matches by hand, is refused a many-to-many link, and picks a billing contract with a flagged one needing confirmation", async ({ page, request, baseURL }) => {
  const admin = createPartner("Map");
  await connectSandbox(request, baseURL!, admin);
  await discoverCompanies(request, baseURL!);
  const [a, b, c] = await firstCompanies(request, baseURL!, 3);
  const suffix = admin.partner.slice(-8);
  await registerCustomers(request, baseURL!, admin, [
    { ref: "exact", name: a.name },
    { ref: "case", name: b.name.toUpperCase() },
    { ref: "manual", name: `Zed Platform Only ${suffix}` },
  ]);
  // Contracts for company A: a recurring one with a service, and a Time & Materials one.
  const contract = (name: string, type: number) => ({ companyID: a.company_id, contractName: name, contractType: type, status: 1, startDate: "2025-01-01T00:00:00Z", endDate: "2030-12-31T00:00:00Z" });
  const recurring = await autotaskCreate(request, "Contracts", contract(`Managed Backup ${suffix}`, 7));
  await autotaskCreate(request, `Contracts/${recurring}/Services`, { serviceID: 29683101, unitPrice: 45 });
  await autotaskCreate(request, "Contracts", contract(`Support T&M ${suffix}`, 1));

  await signIn(page, admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Customer Map" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Customer Map" })).toBeVisible();
  await expect(page.getByTestId("map-counts")).toContainText("3 customers, 0 matched");

  // Suggestions: A is an exact (3 star) match, B differs only in case.
  const rowA = page.locator("tr", { hasText: a.name }).filter({ has: page.locator("td.cell-name", { hasText: a.name }) }).first();
  await expect(rowA).toContainText("Exact name");
  await expect(page.locator("tr", { hasText: b.name.toUpperCase() })).toContainText("Same name apart from letter case");
  await page.getByRole("button", { name: "Select exact matches" }).click();
  // Every exact match of the filter, on any page, and how many.
  await expect(page.getByTestId("exact-note")).toHaveText("Selected the 1 exact match of this filter.");
  await page.getByTestId("confirm-matches").click();
  await expect(page.getByTestId("unsaved")).toContainText("1 unsaved change");
  await page.getByTestId("save-map").click();
  await expect(page.getByText("Saved 1 change.")).toBeVisible();
  await expect(page.getByTestId("map-counts")).toContainText("3 customers, 1 matched");

  // Manual match through the picker, then a second company for the same customer (1-to-many).
  const manual = page.locator("tr", { hasText: `Zed Platform Only ${suffix}` });
  await manual.getByRole("button", { name: "Match…" }).click();
  const picker = page.getByRole("dialog");
  await picker.getByLabel("Search Autotask companies").fill(c.name);
  await picker.getByRole("button", { name: new RegExp(c.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) }).first().click();
  await expect(page.getByTestId("unsaved")).toContainText(`to “${c.name}”`);
  await page.getByTestId("save-map").click();
  await expect(page.getByText("Saved 1 change.")).toBeVisible();
  await page.getByLabel("Match status").selectOption("matched");
  const manualRow = page.locator("tr", { hasText: `Zed Platform Only ${suffix}` });
  await expect(manualRow).toContainText(c.name);
  await manualRow.getByRole("button", { name: "Add company…" }).click();
  await page.getByRole("dialog").getByLabel("Search Autotask companies").fill(b.name);
  await page.getByRole("dialog").getByRole("button", { name: new RegExp(b.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) }).first().click();
  await page.getByTestId("save-map").click();
  await expect(page.getByText("Saved 1 change.")).toBeVisible();
  await expect(manualRow).toContainText("Matched (1-to-many)");

  // B's own customer cannot now be linked to company B too: that would be many-to-many.
  await page.getByRole("tab", { name: "Autotask companies" }).click();
  await page.getByLabel("Search").fill(b.name);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  const companyRow = page.locator(`tr[data-company-id="${b.company_id}"]`);
  await companyRow.getByRole("button", { name: "Match with customer…" }).click();
  await page.getByRole("dialog").getByLabel("Search Taskbridge customers").fill(b.name.toUpperCase());
  await page.getByRole("dialog").getByRole("button", { name: new RegExp(b.name.toUpperCase().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")) }).first().click();
  await page.getByTestId("save-map").click();
  await expect(page.getByTestId("unsaved")).toContainText("A company already part of a 1-to-many match cannot be linked elsewhere");
  await page.getByRole("button", { name: "Discard" }).click();
  await expect(page.getByTestId("unsaved")).toHaveCount(0);

  // Get contracts for A's customer: the T&M contract is flagged and needs confirming.
  await page.getByRole("tab", { name: "Taskbridge customers" }).click();
  await page.getByLabel("Match status").selectOption("matched");
  const customerA = page.locator("tr", { has: page.locator("td.cell-name", { hasText: a.name }) }).first();
  await customerA.getByRole("button", { name: "Get contracts" }).click();
  const contracts = page.getByTestId("contracts");
  await expect(contracts).toContainText(`Managed Backup ${suffix}`);
  const tm = contracts.locator("label", { hasText: `Support T&M ${suffix}` });
  await expect(tm).toContainText("Not a Recurring Service contract");
  await tm.locator("input[type=radio]").check();
  await expect(page.getByTestId("choose-contract")).toBeDisabled();
  await expect(page.getByText(/anyway, knowing it is flagged/)).toBeVisible();
  await contracts.locator("label", { hasText: `Managed Backup ${suffix}` }).locator("input[type=radio]").check();
  await page.getByTestId("choose-contract").click();
  await expect(page.getByTestId("unsaved")).toContainText(`through contract “Managed Backup ${suffix}”`);
  await page.getByTestId("save-map").click();
  await expect(page.getByText("Saved 1 change.")).toBeVisible();
  await expect(customerA.getByTestId("contract")).toContainText(`Managed Backup ${suffix}`);

  // The map survives a reload, and its history says who did what.
  await page.reload();
  await hydrated(page);
  await expect(page.locator("tr", { has: page.locator("td.cell-name", { hasText: a.name }) }).first().getByTestId("contract")).toContainText(`Managed Backup ${suffix}`);
  await expect(page.getByTestId("map-history")).toContainText(`Chose billing contract “Managed Backup ${suffix}”`);
  await expect(page.getByTestId("map-history")).toContainText(admin.email);
  // The shared pager under the table counts the rows shown.
  await expect(page.getByRole("navigation", { name: "Pages" })).toContainText(/1\u2013\d+ of \d+/);
  if (shots) await page.screenshot({ path: `${shots}/customer-map.png`, fullPage: true });
  // The card shows the latest changes; the History pages through every one of them.
  await expect(page.getByRole("link", { name: "Every Customer Map change, with filters" })).toHaveAttribute("href", "/history/changes?area=map");

  // The customer's name opens its timeline: the contract chosen above, with its values.
  await page.locator("td.cell-name", { hasText: a.name }).first().getByRole("link").click();
  await expect(page.getByRole("heading", { level: 1 })).toContainText(`Timeline: ${a.name}`);
  const timeline = page.getByRole("list", { name: "Timeline" });
  await expect(timeline).toContainText(`Chose billing contract “Managed Backup ${suffix}”`);
  await expect(timeline.getByRole("table", { name: "Values before and after" }).first()).toContainText(`Managed Backup ${suffix}`);
  if (shots) await page.screenshot({ path: `${shots}/customer-timeline.png`, fullPage: true });
});

test("Axcient's flow: type a customer's Autotask company ID, Get contracts at once, pick one, and save the link with its contract in one go", async ({ page, request, baseURL }) => {
  const admin = createPartner("Typed");
  await connectSandbox(request, baseURL!, admin);
  const suffix = admin.partner.slice(-8);
  // A company created in Autotask after the last discovery: known only by its ID.
  const company = await autotaskCreate(request, "Companies", { companyName: `Typed Only Co ${suffix}`, companyType: 1, ownerResourceID: 29682885 });
  const contract = await autotaskCreate(request, "Contracts", { companyID: company, contractName: `Typed Backup ${suffix}`, contractType: 7, status: 1, startDate: "2025-01-01T00:00:00Z", endDate: "2030-12-31T00:00:00Z" });
  await autotaskCreate(request, `Contracts/${contract}/Services`, { serviceID: 29683101, unitPrice: 45 });
  await registerCustomers(request, baseURL!, admin, [{ ref: "typed", name: `Typed Customer ${suffix}` }]);

  await signIn(page, admin);
  await page.goto("/map");
  await hydrated(page);
  const row = page.locator("tr", { has: page.locator("td.cell-name", { hasText: `Typed Customer ${suffix}` }) });
  await expect(row.getByTestId("get-contracts")).toHaveCount(0);
  await row.getByRole("button", { name: "Match…" }).click();
  const picker = page.getByRole("dialog");
  // A wrong ID is caught as it is typed, not at Save.
  await picker.getByLabel("Or type an Autotask company ID").fill("987654321");
  await picker.getByRole("button", { name: "Use this ID" }).click();
  await expect(picker.locator("#pick-company-id-error")).toHaveText("Autotask has no company with ID 987654321. Check the number in Autotask.");
  await expect(page.getByTestId("unsaved")).toHaveCount(0);
  await picker.getByLabel("Or type an Autotask company ID").fill(String(company));
  await picker.getByRole("button", { name: "Use this ID" }).click();
  await expect(page.getByTestId("unsaved")).toContainText("1 unsaved change");
  await expect(page.getByTestId("unsaved")).toContainText(`to “Typed Only Co ${suffix} — Customer” (${company})`);
  // Contracts come before any save.
  await row.getByTestId("get-contracts").click();
  const contracts = page.getByTestId("contracts");
  await contracts.locator("label", { hasText: `Typed Backup ${suffix}` }).locator("input[type=radio]").check();
  await page.getByTestId("choose-contract").click();
  await expect(page.getByTestId("unsaved")).toContainText("2 unsaved changes");
  if (shots) await page.screenshot({ path: `${shots}/customer-map-typed-id.png`, fullPage: true });
  // Leaving through the side menu asks first; staying keeps the changes.
  const asked = new Promise<string>((resolve) => page.once("dialog", (d) => { resolve(d.message()); void d.dismiss(); }));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Companies" }).click();
  expect(await asked).toBe("You have 2 unsaved changes on the Customer Map. Leave and lose them?");
  await expect(page).toHaveURL(/\/map/);
  await expect(page.getByTestId("unsaved")).toContainText("2 unsaved changes");
  await page.getByTestId("save-map").click();
  await expect(page.getByText("Saved 2 changes.")).toBeVisible();
  await page.getByLabel("Match status").selectOption("matched");
  await expect(row.getByTestId("contract")).toContainText(`Typed Backup ${suffix}`);
  await expect(row).toContainText(`Typed Only Co ${suffix}`);
});

test("unmatched Autotask companies are checked and become customers together with one Save", async ({ page, request, baseURL }) => {
  const admin = createPartner("Bulk");
  await connectSandbox(request, baseURL!, admin);
  await discoverCompanies(request, baseURL!);
  // Two companies the import rules accept (no reason it would fail).
  const rows = (await firstCompanies(request, baseURL!, 40)) as { company_id: number; name: string; problem?: string | null }[];
  const [first, second] = rows.filter((r) => !r.problem).slice(5, 7);

  await signIn(page, admin);
  await page.goto("/map");
  await hydrated(page);
  await page.getByRole("tab", { name: "Autotask companies" }).click();
  const create = page.getByTestId("create-selected");
  await expect(create).toBeDisabled();
  for (const company of [first, second]) {
    await page.getByLabel("Search").fill(company.name);
    await page.getByRole("button", { name: "Search", exact: true }).click();
    const row = page.locator(`tr[data-company-id="${company.company_id}"]`);
    await row.getByRole("checkbox", { name: `Select ${company.name} to create a customer from it` }).check();
    await expect(create).toHaveText("Create 1 customer from the selected companies");
    await create.click();
    await expect(row).toContainText("Create a customer from");
  }
  await expect(page.getByTestId("unsaved")).toContainText("2 unsaved changes");
  if (shots) await page.screenshot({ path: `${shots}/customer-map-bulk-create.png`, fullPage: true });
  await page.getByTestId("save-map").click();
  await expect(page.getByText("Saved 2 changes.")).toBeVisible();
  await page.getByLabel("Search").fill(second.name);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  await expect(page.locator(`tr[data-company-id="${second.company_id}"]`)).toContainText("Matched");
  await expect(page.getByTestId("map-counts")).toContainText("2 customers, 2 matched");
});

test("the map survives a server restart: a new server process on the same data shows it", async ({ browser, request, baseURL }) => {
  const admin = createPartner("Restart");
  await connectSandbox(request, baseURL!, admin);
  await discoverCompanies(request, baseURL!);
  const [a] = await firstCompanies(request, baseURL!, 1);
  const [customerId] = await registerCustomers(request, baseURL!, admin, [{ ref: "r", name: `Restart Customer ${admin.partner.slice(-8)}` }]);
  const saved = await request.post("/rpc/save_customer_map", {
    data: { changes: [{ op: "link", customer_id: customerId, company_id: a.company_id }] },
    headers: { Origin: baseURL!, Accept: "application/json" },
  });
  expect(saved.ok()).toBeTruthy();

  // A second `taskbridge serve` on the same data directory stands in for the restarted server.
  const port = 3102;
  const server = spawn(TASKBRIDGE_BIN, ["serve", "--listen", `127.0.0.1:${port}`, "--data-dir", E2E_DATA_DIR, "--site-root", path.join(__dirname, "..", "..", "target", "site")], { stdio: "ignore" });
  try {
    const restarted = `http://127.0.0.1:${port}`;
    await expect.poll(async () => (await request.get(`${restarted}/api/v1/health`).catch(() => null))?.status() ?? 0, { timeout: 20_000 }).toBe(200);
    const context = await browser.newContext({ baseURL: restarted });
    const page = await context.newPage();
    await signIn(page, admin);
    await page.goto("/map?view=customers&f=matched");
    await hydrated(page);
    const row = page.locator(`tr[data-customer-id="${customerId}"]`);
    await expect(row).toContainText(a.name);
    await expect(row).toContainText("Matched");
    // Every customer shows its Taskbridge ID beside its name (two of one name differ).
    await expect(row.getByTestId("customer-id")).toHaveText(String(customerId));
    await context.close();
  } finally {
    server.kill();
  }
});
