import { test, expect } from "./fixtures/test";
import { randomUUID } from "node:crypto";
import { SANDBOX_PORT } from "../playwright.config";
import { autotaskCreate, connectSandbox, createPartner } from "./fixtures/partner";
import { hydrated, signIn } from "./fixtures/pages";

const shots = process.env.TB_SHOTS;

test("an admin switches the customer sync on, syncs, sees clients with contracts, filters them, and sees an Autotask edit applied", async ({ page, request, baseURL }) => {
  const admin = createPartner("Clients");
  await connectSandbox(request, baseURL!, admin);
  const tag = randomUUID().slice(0, 6);
  const name = `E2E Sync ${tag} LLC`;
  const company = await autotaskCreate(request, "Companies", {
    companyName: name, companyType: 1, ownerResourceID: 29682885, isActive: true, address1: "9 Harbor Rd", city: "Austin", state: "TX", postalCode: "78701", countryID: 237, phone: "+1 512 555 0142",
  });
  await signIn(page, admin);

  // Clients before the sync is on: the empty state says where to switch it on.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clients" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Clients" })).toBeVisible();
  await expect(page.getByText("No synced customers yet")).toBeVisible();
  await page.getByRole("link", { name: "Setup" }).last().click();

  // Setup: contracts alone shows the seed's recommendation; a bad interval is refused at its field.
  const card = page.getByRole("region", { name: "Customer sync" });
  await card.getByTestId("sync-contracts").check();
  await expect(card.getByTestId("sync-advice")).toContainText("switch on Active customers too");
  await card.getByTestId("sync-customers").check();
  await expect(card.getByTestId("sync-advice")).toHaveCount(0);
  await card.getByLabel("Look for changes every (minutes)").fill("0");
  await card.getByTestId("save-sync").click();
  await expect(card.locator("#sync-every-error")).toContainText("Poll every 1 to 1440 minutes");
  await card.getByLabel("Look for changes every (minutes)").fill("5");
  await card.getByTestId("save-sync").click();
  await expect(card.getByText("Saved.")).toBeVisible();
  if (shots) await card.screenshot({ path: `${shots}/setup-sync.png` });

  // Clients: Sync now with progress, then the rows.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clients" }).click();
  await page.getByTestId("sync-now").click();
  await expect(page.getByTestId("sync-last-round")).toContainText("customers synced", { timeout: 30_000 });
  const row = page.locator(`tr[data-company-id='${company}']`);
  await page.getByLabel("Search").fill(tag);
  await expect(page).toHaveURL(new RegExp(`q=${tag}`));
  await expect(row).toBeVisible();
  await expect(row).toContainText("9 Harbor Rd, Austin, TX 78701, US");
  await expect(row).toContainText("+1 512 555 0142");
  await expect(row.getByTestId("sync-state")).toContainText("Synced");
  await expect(row.getByTestId("sync-note")).toContainText("New");
  await page.getByLabel("Search").fill("");
  await page.getByLabel("Contracts").selectOption("yes");
  await expect(page).toHaveURL(/contracts=yes/);
  await expect(page.locator("tbody tr").first().getByTestId("contracts")).toContainText("MSP Managed Services");
  if (shots) await page.screenshot({ path: `${shots}/clients.png`, fullPage: true });

  // An edit in Autotask is applied at the next round, with what changed written out.
  const patched = await request.patch(`http://127.0.0.1:${SANDBOX_PORT}/ATServicesRest/V1.0/Companies`, {
    data: { id: company, phone: "+1 512 555 0199" },
    headers: { ApiIntegrationcode: "TASKBRIDGE-SANDBOX", UserName: "sandbox-api@taskbridge.local", Secret: "sandbox-secret" },
  });
  expect(patched.ok()).toBeTruthy();
  await page.goto(`/clients?q=${tag}`);
  await hydrated(page);
  await page.getByTestId("sync-now").click();
  await expect(row.getByTestId("sync-note")).toContainText("+1 512 555 0199", { timeout: 30_000 });
  await expect(row).toContainText("+1 512 555 0199");
});

test("an admin turns on instant updates and an edit in Autotask reaches Clients without a round", async ({ page, request, baseURL }) => {
  const admin = createPartner("Instant");
  await connectSandbox(request, baseURL!, admin);
  const tag = randomUUID().slice(0, 6);
  const company = await autotaskCreate(request, "Companies", {
    companyName: `E2E Instant ${tag} LLC`, companyType: 1, ownerResourceID: 29682885, isActive: true, address1: "4 Pier St", city: "Austin", state: "TX", postalCode: "78701", countryID: 237, phone: "+1 512 555 0110",
  });
  await signIn(page, admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Setup" }).click();
  const card = page.getByRole("region", { name: "Customer sync" });
  await card.getByTestId("sync-customers").check();
  await card.getByLabel("Look for changes every (minutes)").fill("60");
  await card.getByTestId("save-sync").click();
  await expect(card.getByText("Saved.")).toBeVisible();

  // Off until an admin confirms the address Autotask will call.
  const instant = page.getByTestId("instant-updates");
  await expect(instant.getByTestId("instant-state")).toHaveText("Off.");
  await expect(instant.getByTestId("instant-on")).toBeDisabled();
  await expect(instant.getByText(`${baseURL}/hooks/autotask/`)).toBeVisible();
  await instant.getByTestId("instant-confirm").check();
  await instant.getByTestId("instant-on").click();
  await expect(instant.getByTestId("instant-state")).toContainText("On", { timeout: 20_000 });
  await expect(instant.getByTestId("instant-details")).toContainText("Autotask company webhook");
  await expect(instant.getByTestId("instant-received")).toHaveText("No callout received yet.");

  // The first round, then a person's edit in Autotask arrives by callout alone.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clients" }).click();
  await page.getByTestId("sync-now").click();
  await expect(page.getByTestId("sync-last-round")).toContainText("customers synced", { timeout: 30_000 });
  const edited = await request.patch(`http://127.0.0.1:${SANDBOX_PORT}/_sandbox/records/Companies`, { data: { id: company, phone: "+1 512 555 0188" } });
  expect(edited.ok()).toBeTruthy();
  const row = page.locator(`tr[data-company-id='${company}']`);
  await expect(async () => {
    await page.goto(`/clients?q=${tag}`);
    await expect(row).toContainText("+1 512 555 0188", { timeout: 1_000 });
  }).toPass({ timeout: 20_000 });
  await expect(row).toContainText("Webhook");
  if (shots) await page.screenshot({ path: `${shots}/clients-webhook.png`, fullPage: true });

  // Setup counts the callout; turning off deletes the webhook in Autotask.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Setup" }).click();
  await expect(instant.getByTestId("instant-received")).toContainText("1 callout received");
  if (shots) await instant.screenshot({ path: `${shots}/setup-instant.png` });
  await hydrated(page);
  await instant.getByTestId("instant-off").click();
  await expect(instant.getByTestId("instant-state")).toHaveText("Off.");
});
