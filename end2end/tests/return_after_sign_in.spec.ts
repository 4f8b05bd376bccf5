import { test, expect } from "./fixtures/test";
import { createPartner } from "./fixtures/partner";
import { SignInPage, hydrated } from "./fixtures/pages";

test("an anonymous visit lands on sign-in and returns to the page afterwards", async ({ page }) => {
  const admin = createPartner("Return");
  await page.goto("/tokens");
  await expect(page).toHaveURL(/\/signin\?next=\/tokens$/);
  await hydrated(page);
  await new SignInPage(page).signIn(admin);
  await expect(page).toHaveURL(/\/tokens$/);
  await expect(page.getByRole("heading", { level: 1, name: "API tokens" })).toBeVisible();
});
