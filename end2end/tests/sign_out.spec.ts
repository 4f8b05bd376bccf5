import { test, expect } from "./fixtures/test";
import { createPartner } from "./fixtures/partner";
import { signIn } from "./fixtures/pages";

test("signing out ends the session", async ({ page }) => {
  const admin = createPartner("Signout");
  await signIn(page, admin);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  // The old cookie no longer opens anything.
  await page.goto("/users");
  await expect(page).toHaveURL(/\/signin\?next=\/users$/);
});
