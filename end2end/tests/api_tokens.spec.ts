import { test, expect } from "./fixtures/test";
import { createPartner } from "./fixtures/partner";
import { signIn } from "./fixtures/pages";

test("an admin creates an API token, sees it once, and revokes it", async ({ page, request, context }) => {
  const admin = createPartner("Tokens");
  await signIn(page, admin);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API tokens" }).click();
  await expect(page.getByText("No API tokens yet")).toBeVisible();
  // "Skip to content" moves focus into the page itself: the next Tab stays inside it.
  await page.getByRole("link", { name: "Skip to content" }).focus();
  await page.keyboard.press("Enter");
  await expect(page.locator("main")).toBeFocused();
  await page.keyboard.press("Tab");
  expect(await page.evaluate(() => !!document.activeElement?.closest("main"))).toBe(true);

  const form = page.getByRole("form", { name: "Create API token" });
  await form.getByRole("button", { name: "Create token" }).click();
  await expect(form.getByText("Name the token after what will use it")).toBeVisible();
  await form.getByLabel("Token name").fill("Backup platform EU");
  // Making a token asks for the admin's own password again.
  await expect(form.getByText("Enter your Taskbridge password to confirm.")).toBeVisible();
  await form.getByLabel("Your Taskbridge password").fill("not my password");
  await form.getByRole("button", { name: "Create token" }).click();
  await expect(form.getByText("That is not your password.")).toBeVisible();
  await form.getByLabel("Your Taskbridge password").fill(admin.password);
  await form.getByRole("button", { name: "Create token" }).click();

  const shown = page.getByTestId("new-token");
  await expect(shown).toContainText("it is shown only once");
  const token = await shown.getByLabel("New API token").inputValue();
  expect(token).toMatch(/^tbk_/);
  // Copy puts it on the clipboard and says so.
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await shown.getByRole("button", { name: "Copy" }).click();
  await expect(shown.getByTestId("copy-status")).toHaveText("Copied to the clipboard.");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
  const ok = await request.get("/api/v1/partner", { headers: { Authorization: `Bearer ${token}` } });
  expect(ok.status()).toBe(200);
  expect((await ok.json()).name).toBe(admin.partner);

  const row = page.locator('tr[data-token-name="Backup platform EU"]');
  await expect(row.getByText("Active")).toBeVisible();
  await row.getByRole("button", { name: "Revoke Backup platform EU" }).click();
  const dialog = page.getByRole("alertdialog");
  await expect(dialog).toContainText("Revoke token “Backup platform EU”?");
  // The safe choice has focus; Tab and Shift+Tab stay inside the dialog.
  const cancel = dialog.getByRole("button", { name: "Cancel" });
  const revoke = dialog.getByRole("button", { name: "Revoke token" });
  await expect(cancel).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(revoke).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(cancel).toBeFocused();
  await page.keyboard.press("Shift+Tab");
  await expect(revoke).toBeFocused();
  // Focus that strayed out (a click beside the dialog's buttons) comes back with Tab, and
  // Escape closes the dialog wherever focus is, without revoking.
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press("Tab");
  await expect(cancel).toBeFocused();
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
  await page.keyboard.press("Escape");
  await expect(dialog).toHaveCount(0);
  await expect(row.getByText("Active")).toBeVisible();
  // Focus is back on the button that opened it.
  await expect(row.getByRole("button", { name: "Revoke Backup platform EU" })).toBeFocused();

  await row.getByRole("button", { name: "Revoke Backup platform EU" }).click();
  await page.getByRole("alertdialog").getByRole("button", { name: "Revoke token" }).click();
  await expect(row.getByText("Revoked")).toBeVisible();
  const refused = await request.get("/api/v1/partner", { headers: { Authorization: `Bearer ${token}` } });
  expect(refused.status()).toBe(401);
});
