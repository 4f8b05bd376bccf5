import { test, expect, type APIRequestContext } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { SANDBOX_PORT } from "../playwright.config";
import { autotaskCreate, connectSandbox, createPartner, createToken } from "./fixtures/partner";
import { hydrated, signIn } from "./fixtures/pages";

// Runs alone, after every other project: it makes the shared sandbox fail every call.
const shots = process.env.TB_SHOTS;

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
