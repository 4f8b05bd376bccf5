import { test, expect } from "./fixtures/test";
import { createPartner } from "./fixtures/partner";
import { SignInPage, hydrated, signIn } from "./fixtures/pages";

test("an admin signs in and sees the console for their partner", async ({ page }) => {
  const admin = createPartner("Signin");
  await signIn(page, admin);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole("heading", { level: 1, name: "Overview" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users", exact: true })).toBeVisible();
  await expect(page.getByText("Autotask: not set up")).toBeVisible();
  await expect(page.getByTestId("overview-connection")).toHaveText("Not set up");
  await expect(page.getByTestId("active-users")).toHaveText("1");
});

test("a wrong password says so and signs nobody in", async ({ page }) => {
  const admin = createPartner("Wrongpw");
  const signInPage = new SignInPage(page);
  await signInPage.open();
  await signInPage.signIn({ email: admin.email, password: "not-the-password" });
  await expect(page.getByRole("alert")).toHaveText("The email or password is incorrect.");
  await expect(page).toHaveURL(/\/signin/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/signin\?next=/);
});

test("the sign-in page shows no demo credentials outside demo mode", async ({ page }) => {
  await new SignInPage(page).open();
  await expect(page.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await expect(page.getByTestId("demo-credentials")).toHaveCount(0);
});

test("a signed-in page loaded directly comes alive in the browser", async ({ page }) => {
  const admin = createPartner("Direct");
  await signIn(page, admin);
  for (const path of ["/", "/users", "/tokens", "/setup", "/companies", "/companies?q=acme&per=25&status=problem"]) {
    await page.goto(path);
    // Hydration must finish on a server-rendered console page (a mismatch leaves it dead).
    await hydrated(page);
  }
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Users" })).toBeVisible();
  await expect(page).toHaveURL(/\/users$/);
});
