import { test, expect } from "./fixtures/test";
import { createPartner } from "./fixtures/partner";
import { signIn, SignInPage } from "./fixtures/pages";

const shots = process.env.TB_SHOTS;

test("a user changes their own password from the account page, and only the new one signs in", async ({ page }) => {
  const admin = createPartner("Account");
  await signIn(page, admin);
  await page.getByTitle("Your account: change your password").click();
  await expect(page.getByRole("heading", { level: 1, name: "Your account" })).toBeVisible();
  await expect(page.getByText(admin.email).first()).toBeVisible();
  const form = page.getByRole("form", { name: "Change password" });
  // Checked before anything is sent.
  await form.getByLabel("Current password").fill(admin.password);
  await form.getByLabel("New password", { exact: true }).fill("too short");
  await form.getByLabel("New password again").fill("something else");
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByText("Use at least 12 characters", { exact: false })).toBeVisible();
  await expect(form.getByText("The two new passwords differ.")).toBeVisible();
  // The server checks the current password.
  await form.getByLabel("Current password").fill("not my password at all");
  await form.getByLabel("New password", { exact: true }).fill("a fresh long passphrase");
  await form.getByLabel("New password again").fill("a fresh long passphrase");
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByText("That is not your current password.")).toBeVisible();
  await form.getByLabel("Current password").fill(admin.password);
  await form.getByRole("button", { name: "Change password" }).click();
  await expect(form.getByRole("status")).toHaveText("Password changed. Your other sessions were signed out.");
  await expect(form.getByLabel("Current password")).toHaveValue("");
  if (shots) await page.screenshot({ path: `${shots}/account.png`, fullPage: true });
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin$/);
  const signInPage = new SignInPage(page);
  await signInPage.open();
  await signInPage.signIn(admin);
  await expect(page.getByText("The email or password is incorrect.")).toBeVisible();
  await signIn(page, { ...admin, password: "a fresh long passphrase" });
});
