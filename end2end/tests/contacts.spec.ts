import { test, expect } from "./fixtures/test";
import { type Page } from "@playwright/test";
import { randomUUID } from "node:crypto";
import { apiSignIn, autotaskCreate, connectSandbox, createPartner, discoverCompanies } from "./fixtures/partner";
import { hydrated, signIn } from "./fixtures/pages";

const shots = process.env.TB_SHOTS;

/** The row of a contact (or backup user) by the text it shows. */
function contactRow(page: Page, name: string) {
  return page.locator("tbody tr", { hasText: name });
}

test("an admin adds storage, gets contacts with progress, chooses destination and package, imports, and sees Equal, Modified, Failed and blank", async ({ page, request, baseURL }) => {
  const admin = createPartner("Contacts");
  await connectSandbox(request, baseURL!, admin);
  // A company and contacts of this test's own in the shared sandbox.
  const tag = randomUUID().slice(0, 6);
  const companyName = `E2E Contacts ${tag} Inc`;
  const company = await autotaskCreate(request, "Companies", {
    companyName, companyType: 1, ownerResourceID: 29682885, isActive: true, address1: "1 Main St", city: "Austin", state: "TX", postalCode: "78701", countryID: 237,
  });
  for (const [first, last, email, primary] of [["Ann", "Lee", `ann-${tag}@dental.example`, true], ["Bob", "Ray", `bob-${tag}@dental.example`, false], ["Cy", "Nomail", "", false]] as const) {
    await autotaskCreate(request, `Companies/${company}/Contacts`, { firstName: first, lastName: last, isActive: 1, primaryContact: primary, ...(email ? { emailAddress: email } : {}) });
  }
  // Map the company: discover and import it (the Companies page's own test covers the UI).
  await apiSignIn(request, baseURL!, admin);
  await discoverCompanies(request, baseURL!);
  const headers = { Origin: baseURL!, Accept: "application/json" };
  const started = await request.post("/rpc/import_companies", { data: { selection: { ids: [company] } }, headers });
  expect(started.ok()).toBeTruthy();
  await expect.poll(async () => (await (await request.post("/rpc/get_job", { form: { job_id: String((await started.json()).job_id) }, headers })).json()).state).toBe("done");

  await signIn(page, admin);
  // Storage: add a destination and a package, checked at the field.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Storage accounts" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Storage accounts" })).toBeVisible();
  await expect(page.getByText("No destinations yet")).toBeVisible();
  await page.getByTestId("add-destination").click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Name", { exact: true }).fill("US backups");
  await dialog.getByLabel("Provider").selectOption("wasabi");
  await dialog.getByLabel("Bucket name").fill("MSP_Backups");
  await dialog.getByRole("button", { name: "Save destination" }).click();
  await expect(dialog.locator("#dest-location-error")).toContainText("lower-case letters, digits, dots and hyphens");
  await expect(dialog.locator("#dest-region-error")).toContainText("needs the region");
  await dialog.getByLabel("Bucket name").fill("msp-backups-us");
  await dialog.getByLabel("Region").fill("us-east-1");
  await dialog.getByRole("button", { name: "Save destination" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.locator("tr[data-destination='US backups']")).toContainText("msp-backups-us");
  await page.getByTestId("add-package").click();
  await dialog.getByLabel("Name", { exact: true }).fill("Standard 500 GB");
  await dialog.getByLabel("Storage limit (GB)").fill("500");
  await dialog.getByRole("button", { name: "Save package" }).click();
  await expect(page.locator("tr[data-package='Standard 500 GB']")).toContainText("500 GB");
  if (shots) await page.screenshot({ path: `${shots}/storage.png`, fullPage: true });

  // Contacts: get them with live progress.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Contacts" }).click();
  await expect(page.getByText("No contacts yet")).toBeVisible();
  await page.getByTestId("get-contacts").click();
  const job = page.getByTestId("job-contact_fetch");
  await expect(job).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  await expect(job).toContainText(/Got [\d,]+ contacts from Autotask/);
  await page.getByLabel("Search").fill(companyName);
  await expect(page).toHaveURL(/q=E2E/);
  await expect(page.locator(".pager")).toContainText("of 3");

  // One row's own drop-downs, then a selection missing them is stopped before anything is sent.
  const ann = contactRow(page, "Ann Lee");
  await ann.getByLabel("Destination for Ann Lee").selectOption({ label: "US backups (Wasabi, us-east-1)" });
  await ann.getByLabel("Package for Ann Lee").selectOption({ label: "Standard 500 GB (500 GB)" });
  await expect(ann.getByLabel("Package for Ann Lee")).toHaveAttribute("aria-invalid", "false");
  await ann.getByLabel("Select Ann Lee").check();
  await contactRow(page, "Bob Ray").getByLabel("Select Bob Ray").check();
  await page.getByTestId("import-contacts").click();
  await expect(page.locator(".panel-error")).toContainText("choose a destination for Bob Ray");
  // Set for selected, then import the whole page.
  await page.getByLabel("Select every contact on this page").check();
  await page.getByLabel("Destination for selected").selectOption({ label: "US backups (Wasabi, us-east-1)" });
  await page.getByLabel("Package for selected").selectOption({ label: "Standard 500 GB (500 GB)" });
  await page.getByTestId("set-for-selected").click();
  await expect(page.getByText("Set for 3 contacts.")).toBeVisible();
  await page.getByTestId("import-contacts").click();
  const confirm = page.getByRole("alertdialog");
  await expect(confirm).toContainText("Import 3 contacts as backup users?");
  await confirm.getByRole("button", { name: "Import" }).click();
  const importJob = page.getByTestId("job-contact_import");
  await expect(importJob).toHaveAttribute("data-state", "done", { timeout: 30_000 });
  await expect(importJob).toContainText("Imported 2 contacts as backup users; 1 failed");
  await expect(ann.getByTestId("status")).toHaveText("Equal");
  const failed = contactRow(page, "Cy Nomail").getByTestId("status").locator(".badge");
  await expect(failed).toHaveText(/Failed/);
  await expect(contactRow(page, "Cy Nomail").getByTestId("status").locator(".badge-reason")).toHaveText(/^It has no email address in Autotask/);
  if (shots) await page.screenshot({ path: `${shots}/contacts.png`, fullPage: true });
  // The company link narrows the list to that company, in the URL and as a removable chip.
  await ann.getByRole("link", { name: companyName }).click();
  await expect(page).toHaveURL(new RegExp(`company=${company}`));
  await expect(page.locator(".chip")).toContainText(`Company: ${companyName}`);
  await expect(page.locator(".pager")).toContainText("of 3");

  // Backup users: a new name shows the contact Modified, with what differs.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Backup users" }).click();
  const annUser = page.locator(`tr[data-backup-user='ann-${tag}@dental.example']`);
  await annUser.getByRole("button", { name: "Edit Ann Lee" }).click();
  const edit = page.getByRole("dialog");
  await edit.getByLabel("First name").fill("Annie");
  await edit.getByRole("button", { name: "Save user" }).click();
  await expect(page.getByTestId("notice")).toContainText("shows Modified");
  await expect(annUser.getByTestId("contact-status")).toContainText("Modified");
  if (shots) await page.screenshot({ path: `${shots}/backup_users.png`, fullPage: true });
  await page.goto(`/contacts?q=${encodeURIComponent(companyName)}`);
  await hydrated(page);
  const modified = contactRow(page, "Ann Lee").getByTestId("status");
  await expect(modified.locator(".badge")).toHaveText("Modified");
  await expect(modified.locator(".badge-reason")).toHaveText("Name: \u201cAnnie Lee\u201d in Taskbridge, \u201cAnn Lee\u201d in Autotask.");

  // A new email is a new user: the contact shows blank again. Deleting a user does too.
  await page.goto("/backup-users");
  await hydrated(page);
  await annUser.getByRole("button", { name: "Edit Annie Lee" }).click();
  await edit.getByLabel("Email (the login)").fill(`annie-${tag}@dental.example`);
  await expect(edit.getByText("A new email makes this a new user")).toBeVisible();
  await edit.getByRole("button", { name: "Save user" }).click();
  await expect(page.getByTestId("notice")).toContainText("no longer linked");
  const bobUser = page.locator(`tr[data-backup-user='bob-${tag}@dental.example']`);
  await bobUser.getByRole("button", { name: "Delete Bob Ray" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Delete user" }).click();
  await expect(bobUser).toBeHidden();
  await page.goto(`/contacts?q=${encodeURIComponent(companyName)}`);
  await hydrated(page);
  for (const name of ["Ann Lee", "Bob Ray"]) {
    await expect(contactRow(page, name).getByTestId("status")).toHaveText("Not in Taskbridge");
  }
});
