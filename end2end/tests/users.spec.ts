import { test, expect } from "./fixtures/test";
import { randomUUID } from "node:crypto";
import { addTechnician, createPartner } from "./fixtures/partner";
import { SignInPage, signIn } from "./fixtures/pages";

test("a technician cannot open the Users page", async ({ page, request, baseURL }) => {
  const admin = createPartner("Techdeny");
  const tech = await addTechnician(request, baseURL!, admin);
  await signIn(page, tech);
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "Overview" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Users", exact: true })).toHaveCount(0);
  await page.goto("/users");
  await expect(page.getByRole("alert")).toContainText("You need the admin role");
  await expect(page.getByRole("table")).toHaveCount(0);
});

test("an admin adds a technician who can then sign in", async ({ page, browser }) => {
  const admin = createPartner("Adduser");
  await signIn(page, admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Users" })).toBeVisible();
  await page.getByRole("button", { name: "Add user" }).click();

  const form = page.getByRole("form", { name: "Add user" });
  // Inline validation uses the server's rules before anything is sent.
  await form.getByRole("button", { name: "Add user" }).click();
  await expect(form.getByText("Enter a name.")).toBeVisible();
  await expect(form.getByText("Enter an email address.")).toBeVisible();

  const id = randomUUID().slice(0, 8);
  const tech = { partner: admin.partner, email: `new-tech-${id}@e2e.example`, password: `pw-${randomUUID()}` };
  await form.getByLabel("Name").fill(`New Tech ${id}`);
  await form.getByLabel("Email").fill(tech.email);
  await form.getByLabel("Role").selectOption("technician");
  await form.getByLabel("Initial password").fill(tech.password);
  await form.getByRole("button", { name: "Add user" }).click();

  const row = page.locator(`tr[data-email="${tech.email}"]`);
  await expect(row).toBeVisible();
  await expect(row.getByRole("combobox")).toHaveValue("technician");
  await expect(row.getByText("Active")).toBeVisible();

  const other = await browser.newContext();
  const techPage = await other.newPage();
  await signIn(techPage, tech);
  await expect(techPage.getByText(`${tech.email} · Technician`)).toBeVisible();
  await other.close();
});
