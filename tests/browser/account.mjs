// node account.mjs CHROMIUM ALLOWED_PAGE BLOCKED_PAGE EMAIL PASSWORD
// The example account page in a real browser, twice: served from an origin on the APIs' CORS
// allow-list (sign in, see the profile, change language, currency and avatar, reload, sign
// out), and from one that is not (the sign-in reaches the page's own backend, but the
// browser refuses the cross-origin profile call at its preflight).
import { launch, report } from "./browser.mjs";

const [executablePath, allowedPage, blockedPage, email, password] = process.argv.slice(2);
const WAIT = { timeout: 30_000 };

async function open(browser, url) {
  const page = await browser.newPage();
  const console = [];
  page.on("console", (message) => console.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => console.push(`pageerror: ${error}`));
  await page.goto(url);
  await page.locator("#sign-in").waitFor({ state: "visible", ...WAIT });
  return { page, console };
}

async function signIn(page) {
  await page.fill("#sign-in input[name=email]", email);
  await page.fill("#sign-in input[name=password]", password);
  await page.click("#sign-in button[type=submit]");
}

async function shown(page) {
  return {
    name: await page.textContent("#name"),
    handle: await page.textContent("#handle"),
    status: await page.textContent("#status"),
    avatar: await page.getAttribute("#avatar", "src"),
    badges: await page.$$eval("#badges li", (items) => items.map((item) => item.dataset.badge)),
    badgeIcons: await page.$$eval("#badges img", (images) =>
      images.map((image) => image.complete && image.naturalWidth > 0),
    ),
    avatarLoaded: await page.$eval("#avatar", (image) => image.complete && image.naturalWidth > 0),
    lang: await page.inputValue("#settings select[name=lang]"),
    currency: await page.inputValue("#settings select[name=currency]"),
  };
}

report(async () => {
  const browser = await launch(executablePath);
  try {
    // From an allowed origin: the whole flow.
    const allowed = await open(browser, allowedPage);
    const page = allowed.page;
    await signIn(page);
    await page.locator("#account").waitFor({ state: "visible", ...WAIT });
    await page.waitForFunction(() => document.getElementById("avatar").complete);
    const signedIn = await shown(page);

    await page.selectOption("#settings select[name=lang]", "de_de");
    await page.selectOption("#settings select[name=currency]", "EUR");
    await page.check("#avatars input[value='04']");
    await page.click("#settings button[type=submit]");
    await page.locator("#saved").waitFor({ state: "visible", ...WAIT });
    await page.waitForFunction(() => document.getElementById("avatar").complete);
    const saved = await shown(page);

    // A reload reads the profile again, with the token the tab kept.
    await page.reload();
    await page.locator("#account").waitFor({ state: "visible", ...WAIT });
    const reloaded = await shown(page);

    await page.click("#sign-out");
    await page.locator("#sign-in").waitFor({ state: "visible", ...WAIT });
    const tokenAfterSignOut = await page.evaluate(() => sessionStorage.getItem("roster.accessToken"));

    // From an origin not on the allow-list.
    const blocked = await open(browser, blockedPage);
    await signIn(blocked.page);
    await blocked.page.locator("#error").waitFor({ state: "visible", ...WAIT });
    return {
      allowed: {
        signedIn,
        saved,
        reloaded,
        signedOut: tokenAfterSignOut === null,
        console: allowed.console,
      },
      blocked: {
        error: await blocked.page.textContent("#error"),
        accountShown: await blocked.page.isVisible("#account"),
        console: blocked.console,
      },
    };
  } finally {
    await browser.close();
  }
});
