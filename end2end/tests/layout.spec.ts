import { test, expect, expectAccessible } from "./fixtures/test";
import { connectSandbox, createPartner, discoverCompanies, registerCustomers, type Account } from "./fixtures/partner";
import { hydrated, signIn } from "./fixtures/pages";

const shots = process.env.TB_SHOTS;

/** Every page an admin can open, with the heading it shows. */
const PAGES = [
  ["/", "Overview"],
  ["/setup", "Setup"],
  ["/companies", "Companies"],
  ["/contacts", "Contacts"],
  ["/backup-users", "Backup users"],
  ["/storage", "Storage accounts"],
  ["/map", "Customer Map"],
  ["/clients", "Clients"],
  ["/notifications", "Notifications"],
  ["/events", "Event log"],
  ["/billing", "Billing"],
  ["/history", "History"],
  ["/users", "Users"],
  ["/tokens", "API tokens"],
  ["/account", "Your account"],
] as const;

const WIDTHS = [
  { name: "desktop", width: 1280, height: 800 },
  { name: "tablet", width: 768, height: 1024 },
  { name: "phone", width: 390, height: 844 },
];

/** A connected partner with discovered companies and a few customers, so tables have rows. */
async function partnerWithData(request: Parameters<typeof connectSandbox>[0], baseURL: string, label: string): Promise<Account> {
  const admin = createPartner(label);
  await connectSandbox(request, baseURL, admin);
  await discoverCompanies(request, baseURL);
  await registerCustomers(request, baseURL, admin, [
    { ref: "lay-1", name: "Bergström Dental Practice AB" },
    { ref: "lay-2", name: "Zenith Redwood L.L.C." },
    { ref: "lay-3", name: "Østfold Regnskap og Revisjon AS" },
  ]);
  return admin;
}

/**
 * The page's width and, when it is too wide, the innermost elements that stick out past
 * the window (outside any box that scrolls or clips them), to say what to fix.
 */
function widthReport() {
  const innerWidth = window.innerWidth;
  const clipped = (el: Element) => {
    for (let p = el.parentElement; p; p = p.parentElement) if (getComputedStyle(p).overflowX !== "visible") return p !== document.documentElement && p !== document.body;
    return false;
  };
  const out = [...document.querySelectorAll("body *")].filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5 && !clipped(el));
  const wide = out
    .filter((el) => !out.some((other) => other !== el && el.contains(other)))
    .slice(0, 5)
    .map((el) => `${el.tagName.toLowerCase()}${el.className ? "." + String(el.className).trim().replaceAll(/\s+/g, ".") : ""} "${(el.textContent ?? "").trim().slice(0, 40)}" ends at ${Math.round(el.getBoundingClientRect().right)} px`);
  return { scrollWidth: document.documentElement.scrollWidth, innerWidth, wide };
}

for (const size of WIDTHS) {
  test(`every page fits a ${size.name} screen (${size.width} px) without sideways scrolling and passes axe`, async ({ page, request, baseURL }) => {
    test.setTimeout(120_000);
    const admin = await partnerWithData(request, baseURL!, `Layout ${size.name}`);
    await page.setViewportSize({ width: size.width, height: size.height });
    await signIn(page, admin);
    for (const [path, heading] of PAGES) {
      await page.goto(path);
      await hydrated(page);
      await expect(page.getByRole("heading", { level: 1, name: heading })).toBeVisible();
      // Loading placeholders have settled into the page's real content.
      await expect(page.locator("main .loading")).toHaveCount(0);
      const { scrollWidth, innerWidth, wide } = await page.evaluate(widthReport);
      if (shots) await page.screenshot({ path: `${shots}/layout-${size.name}${path === "/" ? "-overview" : path.replaceAll("/", "-")}.png`, fullPage: true });
      expect.soft(scrollWidth, `${path} at ${size.width} px is ${scrollWidth} px wide: ${wide.join("; ")}`).toBeLessThanOrEqual(innerWidth);
      await expectAccessible(page, `${path} at ${size.width} px`, true);
    }
  });
}

test("on a phone the navigation is a menu that opens, moves focus into it, and closes on Escape or after a choice", async ({ page, request, baseURL }) => {
  const admin = createPartner("Phone menu");
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, admin);
  const nav = page.getByRole("navigation", { name: "Main" });
  const menu = page.getByRole("button", { name: "Menu" });
  await expect(nav.getByRole("link", { name: "Companies" })).toBeHidden();
  await expect(menu).toHaveAttribute("aria-expanded", "false");

  await menu.click();
  await expect(menu).toHaveAttribute("aria-expanded", "true");
  await expect(nav.getByRole("link", { name: "Overview" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(nav.getByRole("link", { name: "Companies" })).toBeHidden();
  await expect(menu).toBeFocused();

  await page.keyboard.press("Enter");
  await nav.getByRole("link", { name: "Companies" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Companies" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Companies" })).toBeHidden();
  await expect(menu).toHaveAttribute("aria-expanded", "false");

  // On a desktop the same navigation is always shown and the menu button is not.
  await page.setViewportSize({ width: 1280, height: 800 });
  await expect(nav.getByRole("link", { name: "Companies" })).toBeVisible();
  await expect(menu).toBeHidden();
});
