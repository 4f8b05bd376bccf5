import { test, expect } from "./fixtures/test";
import { type APIRequestContext } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { SANDBOX_PORT } from "../playwright.config";
import { autotaskCreate, connectSandbox, createPartner, createToken, type Account } from "./fixtures/partner";
import { signIn } from "./fixtures/pages";

/** A token, a platform customer linked to a new Autotask company; returns the token. */
async function mappedCustomer(request: APIRequestContext, baseURL: string, admin: Account, ref: string, name: string): Promise<string> {
  const headers = { Origin: baseURL, Accept: "application/json" };
  const token = await createToken(request, baseURL, admin);
  const company = await autotaskCreate(request, "Companies", { companyName: name, companyType: 1, ownerResourceID: 29682885, isActive: true, countryID: 237 });
  const r = await request.post("/api/v1/customers", { data: { customers: [{ ref, name }] }, headers: { Authorization: `Bearer ${token}` } });
  const customer = (await r.json()).results[0].customer_id;
  const saved = await request.post("/rpc/save_customer_map", { data: { changes: [{ op: "link", customer_id: customer, company_id: company }] }, headers });
  if (!saved.ok()) throw new Error(`save_customer_map failed: ${saved.status()} ${await saved.text()}`);
  return token;
}

async function postEvent(request: APIRequestContext, token: string, event: object) {
  const r = await request.post("/api/v1/events", { data: event, headers: { Authorization: `Bearer ${token}` } });
  expect(r.status()).toBe(200);
  expect((await r.json()).results[0].status).toBe("accepted");
}

async function ticket(request: APIRequestContext, id: string) {
  const r = await request.get(`http://127.0.0.1:${SANDBOX_PORT}/ATServicesRest/V1.0/Tickets/${id}`, {
    headers: { ApiIntegrationcode: "TASKBRIDGE-SANDBOX", UserName: "sandbox-api@taskbridge.local", Secret: "sandbox-secret" },
  });
  return (await r.json()).item;
}

const shots = process.env.TB_SHOTS;

test("ticket settings from retrieved picklists, a notification, and the event log showing the ticket, the note and the completion", async ({ page, request, baseURL }) => {
  const admin = createPartner("Tickets");
  await connectSandbox(request, baseURL!, admin);
  const suffix = randomUUID().slice(0, 6);
  const token = await mappedCustomer(request, baseURL!, admin, `dental-${suffix}`, `Harbor Dental ${suffix}`);

  await signIn(page, admin);
  const nav = page.getByRole("navigation", { name: "Main" });

  // Ticket settings: defaults until retrieved, then the partner's active values only.
  await nav.getByRole("link", { name: "Setup" }).click();
  const settings = page.getByRole("form", { name: "Ticket settings" });
  await expect(settings.getByLabel("Autotask queue")).toContainText("Managed Services Alerts (default)");
  await settings.getByRole("button", { name: "Retrieve from Autotask" }).click();
  await expect(settings.getByRole("button", { name: "Retrieve again" })).toBeVisible();
  const queue = settings.getByLabel("Autotask queue");
  await expect(queue.locator("option", { hasText: "Level I Support" })).toHaveCount(1);
  await expect(queue.locator("option", { hasText: "Old Backup Queue" })).toHaveCount(0);
  await expect(queue).toHaveValue(/^id:/);
  await settings.getByLabel("Priority").selectOption({ label: "High" });
  await settings.getByLabel("Ticket subject prefix (optional)").fill("[Backup]");
  await settings.getByLabel("Repeat notes at most every (minutes)").fill("0");
  await settings.getByRole("button", { name: "Save ticket settings" }).click();
  await expect(settings.getByText("Saved.")).toBeVisible();
  if (shots) await page.screenshot({ path: `${shots}/setup-tickets.png`, fullPage: true });

  // A notification with the recommended defaults.
  await nav.getByRole("link", { name: "Notifications" }).click();
  await expect(page.getByText("No notifications yet")).toBeVisible();
  await page.getByTestId("new-rule").click();
  const form = page.getByTestId("rule-form");
  await expect(form.getByLabel("Notification action")).toHaveValue("ticket");
  await expect(form.getByLabel("Subscribe to OK events")).toHaveValue("no");
  await expect(form.getByLabel("Subscribe to all event types")).toHaveValue("yes");
  await form.getByRole("button", { name: "Create" }).click();
  const rules = page.getByRole("table", { name: "Notifications" });
  await expect(rules).toContainText("Open an Autotask ticket");
  await expect(rules).toContainText("All event types");

  // A "Synchronize with Autotask" rule shows only what applies to it (nothing of tickets),
  // its deletion speaks of billing, and a second one is refused with the reason.
  await page.getByTestId("new-rule").click();
  await form.getByLabel("Notification action").selectOption("sync");
  await expect(form.getByTestId("sync-rule-hint")).toContainText("Switches automatic billing pushes on");
  await expect(form.getByLabel("Subscribe to OK events")).toHaveCount(0);
  await expect(form.getByLabel("Customers")).toHaveCount(0);
  await form.getByRole("button", { name: "Create" }).click();
  const syncRow = rules.locator("tr", { hasText: "Synchronize with Autotask" });
  await expect(syncRow).toContainText("billing pushes");
  await syncRow.getByRole("button", { name: "Delete" }).click();
  await expect(page.getByRole("alertdialog")).toContainText("Automatic billing pushes stop");
  await page.getByRole("alertdialog").getByRole("button", { name: "Cancel" }).click();
  await page.getByTestId("new-rule").click();
  await form.getByLabel("Notification action").selectOption("sync");
  await form.getByRole("button", { name: "Create" }).click();
  await expect(form).toContainText("Automatic billing pushes are already on");
  await form.getByRole("button", { name: "Cancel" }).click();
  if (shots) await page.screenshot({ path: `${shots}/notifications.png`, fullPage: true });
  await syncRow.getByRole("button", { name: "Delete" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Delete" }).click();
  await expect(syncRow).toHaveCount(0);

  // A failure opens a ticket; the log shows it (it refreshes itself).
  const ref = `dental-${suffix}`;
  await postEvent(request, token, { id: `f1-${suffix}`, customer_ref: ref, device: "FS01", job: "Nightly", type: "backup_failed", severity: "error", message: "VSS snapshot failed", occurred_at: "2026-11-22T03:12:00Z" });
  await nav.getByRole("link", { name: "Event log" }).click();
  const first = page.locator("tr", { hasText: `f1-${suffix}` });
  await expect(first.getByTestId("outcome")).toContainText("Ticket opened", { timeout: 15_000 });
  // The customer carries its ID, so two customers of one name differ.
  await expect(first).toContainText(new RegExp(`Harbor Dental ${suffix} #\\d+`));
  // The ticket's number is read from Autotask just after the ticket opens (many at once).
  await expect(first.getByTestId("ticket")).toHaveText(/^\s*T\d{8}\.\d{4}\s*$/, { timeout: 15_000 });
  const number = (await first.getByTestId("ticket").innerText()).trim();
  const link = first.getByTestId("ticket").getByRole("link");
  await expect(link).toHaveAttribute("href", /OpenTicketDetail&TicketID=\d+/);
  const ticketId = (await link.getAttribute("href"))!.split("TicketID=")[1];
  const opened = await ticket(request, ticketId);
  expect(opened.title).toBe(`[Backup] Harbor Dental ${suffix}: Backup failed on FS01`);
  expect(opened.priority).toBe(1);

  // A repeat is a note on the same ticket; the recovery completes it.
  await postEvent(request, token, { id: `f2-${suffix}`, customer_ref: ref, device: "FS01", type: "backup_failed", severity: "error", message: "VSS snapshot failed again", occurred_at: "2026-11-22T04:12:00Z" });
  await expect(page.locator("tr", { hasText: `f2-${suffix}` }).getByTestId("outcome")).toContainText("Note added", { timeout: 15_000 });
  await expect(page.locator("tr", { hasText: `f2-${suffix}` }).getByTestId("ticket")).toHaveText(number);
  await postEvent(request, token, { id: `ok-${suffix}`, customer_ref: ref, device: "FS01", type: "backup_ok", severity: "ok", message: "Backup completed", occurred_at: "2026-11-22T05:12:00Z" });
  await expect(page.locator("tr", { hasText: `ok-${suffix}` }).getByTestId("outcome")).toContainText("Ticket completed", { timeout: 15_000 });
  expect((await ticket(request, ticketId)).status).toBe(5);

  // Filters narrow the log, and live in the URL.
  await page.getByLabel("What was done").selectOption({ label: "Ticket completed" });
  await expect(page).toHaveURL(/outcome=completed/);
  await expect(page.getByRole("table", { name: "Events" }).locator("tbody tr")).toHaveCount(1);
  await page.getByLabel("What was done").selectOption({ label: "Anything" });
  await expect(page.getByRole("table", { name: "Events" }).locator("tbody tr")).toHaveCount(3);
  if (shots) await page.screenshot({ path: `${shots}/event-log.png`, fullPage: true });

  // The test ticket round trip from the Notifications page, to a customer chosen by name
  // (not the first mapped one, which "Harbor Dental" is).
  await mappedCustomer(request, baseURL!, admin, `zed-${suffix}`, `Zed Clinic ${suffix}`);
  await nav.getByRole("link", { name: "Notifications" }).click();
  await page.getByLabel("Find a mapped customer").fill("Zed Clinic");
  const zed = page.locator("#test-ticket-customer option", { hasText: `Zed Clinic ${suffix} (#` });
  await expect(zed).toHaveCount(1);
  await expect(page.locator("#test-ticket-customer option", { hasText: "Harbor Dental" })).toHaveCount(0);
  await page.getByLabel("Customer", { exact: true }).selectOption((await zed.getAttribute("value"))!);
  await page.getByTestId("send-test-ticket").click();
  await expect(page.getByTestId("test-ticket-result")).toContainText("Test ticket sent");
  await expect(page.getByTestId("test-ticket-result")).toContainText(`in Zed Clinic ${suffix}'s company`);
  await expect(page.getByTestId("test-ticket-result")).toContainText("Completed it");
  if (shots) await page.screenshot({ path: `${shots}/test-ticket.png`, fullPage: true });
});
