import { test, expect } from "./fixtures/test";
import { connectSandbox, createPartner } from "./fixtures/partner";
import { hydrated, signIn } from "./fixtures/pages";

const shots = process.env.TB_SHOTS;

test("an admin retrieves Autotask services, maps products to monthly ones and sets storage rounding", async ({ page, request, baseURL }) => {
  const admin = createPartner("Billing");
  await connectSandbox(request, baseURL!, admin);
  await signIn(page, admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Setup" }).click();
  const billing = page.getByRole("form", { name: "Billing settings" });
  const server = billing.getByLabel("Server backup licence");
  await expect(server).toHaveValue("");
  await billing.getByRole("button", { name: "Retrieve services" }).click();
  await expect(billing.getByRole("button", { name: "Retrieve again" })).toBeVisible();
  // Monthly services are offered; others are listed but cannot be chosen, with the reason.
  await expect(server.locator("option", { hasText: "Annual DR Test — not eligible: Billed yearly" })).toBeDisabled();
  await server.selectOption({ label: "Server Backup Licence — 45.00 / month" });
  await billing.getByLabel("Cloud storage", { exact: true }).selectOption({ label: "Cloud Storage (per GB) — 0.08 / month" });
  await billing.getByLabel("Rounding of Cloud storage").selectOption("nearest");
  // A step that does not match what the service is priced per is warned of before saving.
  const warning = billing.locator("tr[data-product=cloud_storage_gb]").getByTestId("rounding-warning");
  await expect(warning).toHaveText("");
  await billing.locator("#billing-unit-4").fill("100");
  await expect(warning).toContainText("Cloud Storage (per GB) is priced per GB, but one unit here is 100 GB");
  await billing.getByRole("button", { name: "Save billing settings" }).click();
  await expect(billing.getByText("Saved.")).toBeVisible();
  await page.reload();
  // Live before the schedule form is used (a click on the server-rendered page is lost).
  await hydrated(page);
  await expect(page.getByRole("form", { name: "Billing settings" }).getByLabel("Server backup licence")).toHaveValue("29683101");
  await expect(page.getByRole("form", { name: "Billing settings" }).getByLabel("Rounding of Cloud storage")).toHaveValue("nearest");
  if (shots) await page.locator("section.billing-settings").screenshot({ path: `${shots}/billing-settings.png` });
  // The schedule is off until a "Synchronize with Autotask" notification exists.
  const schedule = page.getByRole("form", { name: "Automatic pushes" });
  await expect(schedule).toContainText("Synchronize with Autotask");
  // Its Save says so, like every other form, until the form is changed again.
  await schedule.getByLabel("Hold changes larger than (units)").fill("250");
  await schedule.getByRole("button", { name: "Save" }).click();
  await expect(schedule.getByTestId("schedule-saved")).toHaveText("Saved.");
  await schedule.getByLabel("Push automatically every (hours)").fill("12");
  await expect(schedule.getByTestId("schedule-saved")).toHaveText("");
  await page.reload();
  await expect(page.getByRole("form", { name: "Automatic pushes" }).getByLabel("Hold changes larger than (units)")).toHaveValue("250");
});
