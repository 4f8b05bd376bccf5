import { test, expect } from "./fixtures/test";
import { type APIRequestContext } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { SANDBOX_PORT } from "../playwright.config";
import { autotaskCreate, billedCustomer, connectSandbox, createPartner, createToken } from "./fixtures/partner";
import { hydrated, signIn } from "./fixtures/pages";

// Runs alone, after every other project: it makes the shared sandbox fail every call (or
// every call on one entity). Its tests take turns for the same reason.
const shots = process.env.TB_SHOTS;
test.describe.configure({ mode: "serial" });

async function setFaults(request: APIRequestContext, faults: object) {
  const r = await request.put(`http://127.0.0.1:${SANDBOX_PORT}/_sandbox/faults`, { data: faults });
  expect(r.ok()).toBeTruthy();
}

test("an Autotask outage pauses dispatch, the Event log and the Overview say why and since when, and work resumes within seconds of recovery", async ({ page, request, baseURL }) => {
  const admin = createPartner("Outage");
  await connectSandbox(request, baseURL!, admin);
  const headers = { Origin: baseURL!, Accept: "application/json" };
  const suffix = randomUUID().slice(0, 6);
  const token = await createToken(request, baseURL!, admin);
  const company = await autotaskCreate(request, "Companies", { companyName: `Outage Dental ${suffix}`, companyType: 1, ownerResourceID: 29682885, isActive: true, countryID: 237 });
  const added = await request.post("/api/v1/customers", { data: { customers: [{ ref: `o-${suffix}`, name: `Outage Dental ${suffix}` }] }, headers: { Authorization: `Bearer ${token}` } });
  const customer = (await added.json()).results[0].customer_id;
  expect((await request.post("/rpc/save_customer_map", { data: { changes: [{ op: "link", customer_id: customer, company_id: company }] }, headers })).ok()).toBeTruthy();
  const rule = { action: "ticket", subscribe_ok: false, all_types: true, event_types: [], customer_ids: [], complete_on_recovery: true };
  expect((await request.post("/rpc/save_rule", { data: { rule_id: null, rule }, headers })).ok()).toBeTruthy();

  await setFaults(request, { rate_5xx: 1.0 });
  try {
    const event = { id: `out-${suffix}`, customer_ref: `o-${suffix}`, device: "FS01", type: "backup_failed", severity: "error", message: "VSS snapshot failed", occurred_at: "2026-11-22T03:12:00Z" };
    expect((await request.post("/api/v1/events", { data: event, headers: { Authorization: `Bearer ${token}` } })).status()).toBe(200);

    await signIn(page, admin);
    await page.goto("/events");
    await hydrated(page);
    const paused = page.getByTestId("dispatch-problem");
    await expect(paused).toContainText("Ticket dispatch is paused", { timeout: 30_000 });
    await expect(paused).toContainText("Autotask is unavailable");
    await expect(paused).toContainText("Paused since");
    await expect(paused).toContainText("1 event is waiting");
    if (shots) await page.screenshot({ path: `${shots}/event-log-paused.png`, fullPage: true });

    await page.goto("/");
    await hydrated(page);
    const notice = page.getByTestId("overview-dispatch");
    await expect(notice).toContainText("Ticket dispatch is paused");
    await expect(notice.getByRole("link", { name: "Open the Event log" })).toBeVisible();
    if (shots) await page.screenshot({ path: `${shots}/overview-paused.png`, fullPage: true });
  } finally {
    await setFaults(request, {});
  }

  // Autotask answers again: the probe ends the pause within seconds, not at the end of the backoff.
  await page.goto("/events");
  await hydrated(page);
  const row = page.locator("tr", { hasText: `out-${suffix}` });
  await expect(row.getByTestId("outcome")).toContainText("Ticket opened", { timeout: 20_000 });
  await expect(page.getByTestId("dispatch-problem")).toHaveCount(0);
});

test("a push whose write failed is found on the History with its reason, retried, and the retry succeeds", async ({ page, request, baseURL }) => {
  const admin = createPartner("Push retry");
  await connectSandbox(request, baseURL!, admin);
  const headers = { Origin: baseURL!, Accept: "application/json" };
  const suffix = randomUUID().slice(0, 6);
  // A customer on a recurring contract billing the server licence service.
  const name = `Retry Dental ${suffix}`;
  const company = await autotaskCreate(request, "Companies", { companyName: name, companyType: 1, ownerResourceID: 29682885, isActive: true, countryID: 237 });
  const contract = await autotaskCreate(request, "Contracts", { companyID: company, contractName: `Backup ${suffix}`, contractType: 7, status: 1, startDate: "2025-01-01T00:00:00Z", endDate: "2030-12-31T00:00:00Z" });
  await autotaskCreate(request, `Contracts/${contract}/Services`, { serviceID: 29683101, unitPrice: 45 });
  const token = await createToken(request, baseURL!, admin);
  await billedCustomer(request, baseURL!, token, { ref: `retry-${suffix}`, name, company, contract, licences: 4 });

  // Autotask refuses every service adjustment (and nothing else): the push's line fails.
  await setFaults(request, { rate_5xx: 1.0, entities: ["ContractServiceAdjustments"] });
  try {
    const pushed = await request.post("/rpc/apply_push", { data: { selection: { lines: null, hold_above: null } }, headers });
    expect(pushed.ok()).toBeTruthy();
    expect((await pushed.json()).failed).toBe(1);
  } finally {
    await setFaults(request, {});
  }

  await signIn(page, admin);
  await page.goto("/history?kind=push&outcome=failed");
  await hydrated(page);
  await page.getByRole("table", { name: "Runs" }).getByRole("link", { name: /Billing push/ }).first().click();
  await expect(page.getByTestId("run-outcome")).toContainText("Failed");
  const lines = page.getByRole("table", { name: "Records skipped or failed" });
  await expect(lines.locator("tbody tr")).toHaveCount(1);
  await expect(lines).toContainText(name);
  await expect(lines.getByTestId("line-reason")).toContainText(/Autotask/);
  if (shots) await page.screenshot({ path: `${shots}/history-push-failed.png`, fullPage: true });

  // Autotask answers again: Retry failed writes just that line, as a run linked to the first.
  await page.getByTestId("retry-failed").click();
  const retriedBy = page.getByTestId("retried-by");
  await expect(retriedBy).toBeVisible({ timeout: 30_000 });
  await retriedBy.getByRole("link").click();
  await expect(page.getByTestId("run-outcome")).toContainText("OK");
  await expect(page.getByText("Retry of")).toBeVisible();
  await expect(page.getByText("No record was skipped or failed")).toBeVisible();
});
