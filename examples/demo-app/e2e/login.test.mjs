// The demo page of examples/axum-server and examples/actix-server (one page, two frameworks) in
// headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core, which downloads no browser).
//
//   node login.test.mjs http://127.0.0.1:3000 [screenshot.png]
//
// Logs in as alice, sees her name, reloads and is still logged in (the HttpOnly cookie), signs
// in from a second browser context and ends that session from the first ("Your sessions"),
// logs out, and is refused by /me afterwards. Prints "N passed, N failed" and exits non-zero on failure.
import { chromium } from "playwright-core";

const base = process.argv[2] ?? "http://127.0.0.1:3000";
const screenshot = process.argv[3] ?? "after-login.png";
let passed = 0;
let failed = 0;

async function check(name, body) {
  try {
    await body();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}: ${error.message}`);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base);

  await check("a visitor sees the login form", async () => {
    await page.locator("#login").waitFor({ state: "visible", timeout: 5000 });
  });
  await check("a wrong password is refused", async () => {
    await page.fill("#username", "alice");
    await page.fill("#password", "not-the-password");
    await page.click("#submit");
    await page.locator("#status", { hasText: "Wrong username or password." }).waitFor({ timeout: 5000 });
  });
  await check("alice logs in and sees who she is", async () => {
    await page.fill("#username", "alice");
    await page.fill("#password", "wonderland");
    await page.click("#submit");
    await page.locator("#whoami", { hasText: "Signed in as alice" }).waitFor({ timeout: 5000 });
    await page.screenshot({ path: screenshot, fullPage: true });
  });
  await check("the session cookie is HttpOnly, out of the page's reach", async () => {
    const [cookie] = (await context.cookies()).filter((c) => c.name === "authtoken");
    expect(cookie && cookie.httpOnly && cookie.sameSite === "Lax", JSON.stringify(cookie));
    expect(!(await page.evaluate(() => document.cookie)).includes("authtoken"), "visible to scripts");
  });
  await check("a reload keeps her logged in", async () => {
    await page.reload();
    await page.locator("#whoami", { hasText: "Signed in as alice" }).waitFor({ timeout: 5000 });
  });
  await check("a second browser signs in: two sessions, this one marked", async () => {
    const other = await browser.newContext({ userAgent: "SecondBrowser/2.0 (e2e)" });
    const second = await other.newPage();
    await second.goto(base);
    await second.fill("#username", "alice");
    await second.fill("#password", "wonderland");
    await second.click("#submit");
    await second.locator("#whoami", { hasText: "Signed in as alice" }).waitFor({ timeout: 5000 });
    await page.reload();
    await page.locator("#sessions li").nth(1).waitFor({ timeout: 5000 });
    expect((await page.locator("#sessions li").count()) === 2, "not two sessions");
    expect((await page.locator("#sessions li.current").count()) === 1, "not one current");
    const otherRow = await page.locator("#sessions li:not(.current)").textContent();
    expect(otherRow.includes("SecondBrowser/2.0 (e2e)"), `the other device is not shown: ${otherRow}`);
    expect(otherRow.includes("127.0.0.1"), `the other address is not shown: ${otherRow}`);
    await page.locator("#sessions li:not(.current) button.end").click();
    await page.locator("#sessions li").nth(1).waitFor({ state: "detached", timeout: 5000 });
    const refused = await second.request.get(`${base}/me`);
    expect(refused.status() === 401, `the ended session still answers ${refused.status()}`);
    const mine = await page.request.get(`${base}/me`);
    expect(mine.status() === 200, `this session was ended too: ${mine.status()}`);
    await other.close();
  });
  await check("logging out shows the login form again", async () => {
    await page.click("#logout");
    await page.locator("#login").waitFor({ state: "visible", timeout: 5000 });
  });
  await check("after logout /me refuses the browser", async () => {
    const response = await page.request.get(`${base}/me`);
    expect(response.status() === 401, `status ${response.status()}`);
  });
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
