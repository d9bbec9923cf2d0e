// node account.mjs CHROMIUM ALLOWED_PAGE BLOCKED_PAGE EMAIL PASSWORD LEAVER_EMAIL LEAVER_PASSWORD
//   NEWCOMER_EMAIL NEWCOMER_PASSWORD
// The example account page in a real browser, twice: served from an origin on the APIs' CORS
// allow-list (sign in, see the profile, change language, currency and avatar, reload, turn
// on two-factor sign-in with a code computed from the shown key as an authenticator app
// would, sign out, sign in with password and code, turn it off, download the data export,
// sign out; then another user deletes its account, a wrong password first; a newcomer opens
// the stack's mailbox, follows its activation mail's link and signs in activated, after the
// page answered a mistyped code and a resend), and from one
// that is not (the sign-in reaches the page's own backend, but the browser refuses the
// cross-origin profile call at its preflight).
import { createHmac } from "node:crypto";
import { readFile } from "node:fs/promises";
import { launch, report } from "./browser.mjs";

const [
  executablePath,
  allowedPage,
  blockedPage,
  email,
  password,
  leaverEmail,
  leaverPassword,
  newcomerEmail,
  newcomerPassword,
] = process.argv.slice(2);
const WAIT = { timeout: 30_000 };

// RFC 6238: HMAC-SHA1, 6 digits, 30-second steps, of a base32 key.
function totp(secret, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) {
    bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  }
  const key = Buffer.from(bits.match(/.{8}/g).map((byte) => parseInt(byte, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30_000)));
  const digest = createHmac("sha1", key).update(counter).digest();
  const offset = digest[19] & 0x0f;
  return String((digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

// A code that stays current for a few seconds more.
async function freshCode(secret) {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 4_000) await new Promise((resolve) => setTimeout(resolve, left + 500));
  return totp(secret);
}

async function open(browser, url) {
  const page = await browser.newPage();
  const console = [];
  page.on("console", (message) => console.push(`${message.type()}: ${message.text()}`));
  page.on("pageerror", (error) => console.push(`pageerror: ${error}`));
  await page.goto(url);
  await page.locator("#sign-in").waitFor({ state: "visible", ...WAIT });
  return { page, console };
}

async function signIn(page, who = email, secret = password) {
  await page.fill("#sign-in input[name=email]", who);
  await page.fill("#sign-in input[name=password]", secret);
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

    // Two-factor sign-in: set up, confirm with the app's code, sign out and in with a code.
    await page.click("#mfa-start");
    await page.locator("#mfa-confirm").waitFor({ state: "visible", ...WAIT });
    const secret = await page.textContent("#mfa-secret");
    const uri = await page.getAttribute("#mfa-uri", "href");
    await page.fill("#mfa-confirm input[name=code]", await freshCode(secret));
    await page.click("#mfa-confirm button[type=submit]");
    await page.locator("#mfa-on").waitFor({ state: "visible", ...WAIT });
    const keyShownAfterConfirm = await page.textContent("#mfa-secret");
    await page.click("#sign-out");
    await page.locator("#sign-in").waitFor({ state: "visible", ...WAIT });
    await signIn(page);
    await page.locator("#sign-in-code").waitFor({ state: "visible", ...WAIT });
    const askedForCode = !(await page.isVisible("#account"));
    await page.fill("#sign-in-code input[name=code]", await freshCode(secret));
    await page.click("#sign-in-code button[type=submit]");
    await page.locator("#account").waitFor({ state: "visible", ...WAIT });
    const nameAfterCode = await page.textContent("#name");
    await page.fill("#mfa-disable input[name=password]", password);
    await page.click("#mfa-disable button[type=submit]");
    await page.locator("#mfa-off").waitFor({ state: "visible", ...WAIT });
    // "Download my data": both parts, saved as one JSON file.
    const [download] = await Promise.all([
      page.waitForEvent("download", WAIT),
      page.click("#export"),
    ]);
    const exported = JSON.parse(await readFile(await download.path(), "utf8"));

    await page.click("#sign-out");
    await page.locator("#sign-in").waitFor({ state: "visible", ...WAIT });
    const tokenAfterSignOut = await page.evaluate(() => sessionStorage.getItem("roster.accessToken"));
    // Off again: the password alone signs in.
    await signIn(page);
    await page.locator("#account").waitFor({ state: "visible", ...WAIT });
    const codeAskedAfterDisable = await page.isVisible("#sign-in-code");

    // Another user deletes its account: a wrong password first, then the right one.
    const leaving = await open(browser, allowedPage);
    await signIn(leaving.page, leaverEmail, leaverPassword);
    await leaving.page.locator("#account").waitFor({ state: "visible", ...WAIT });
    await leaving.page.fill("#delete-account input[name=password]", "Not-The-Password-1");
    await leaving.page.click("#delete-account button[type=submit]");
    await leaving.page.locator("#error").waitFor({ state: "visible", ...WAIT });
    const wrongPassword = await leaving.page.textContent("#error");
    const stillShown = await leaving.page.isVisible("#account");
    await leaving.page.fill("#delete-account input[name=password]", leaverPassword);
    await leaving.page.click("#delete-account button[type=submit]");
    await leaving.page.locator("#sign-in").waitFor({ state: "visible", ...WAIT });
    const deleted = await leaving.page.textContent("#error");

    // A newcomer: a mistyped code and two resends for an address that awaits nothing first
    // (answered as for anyone: sent, then "too soon"), then its mail, in the stack's mailbox.
    const newcomer = await open(browser, allowedPage);
    const arriving = newcomer.page;
    await arriving.fill("#activate input[name=code]", "0123456789abcdef0123456789abcdef");
    await arriving.click("#activate button[type=submit]");
    await arriving.locator("#error").waitFor({ state: "visible", ...WAIT });
    const wrongCode = await arriving.textContent("#error");
    await arriving.fill("#resend input[name=email]", "nobody.here@example.com");
    await arriving.click("#resend button[type=submit]");
    await arriving.locator("#resent").waitFor({ state: "visible", ...WAIT });
    const resent = await arriving.isVisible("#resent");
    await arriving.click("#resend button[type=submit]");
    await arriving.waitForFunction(() => /ask again in \d+ seconds/.test(
      document.getElementById("error").textContent));
    const tooSoon = await arriving.textContent("#error");
    await arriving.goto(new URL(`/mailbox?to=${encodeURIComponent(newcomerEmail)}`, allowedPage).href);
    const mail = arriving.locator(".mail").first();
    await mail.waitFor({ state: "visible", ...WAIT });
    const mailbox = {
      recipients: await arriving.$$eval(".recipient", (sections) =>
        sections.map((section) => section.dataset.recipient)),
      subject: await mail.locator("h3").textContent(),
      from: await mail.locator(".meta").textContent(),
    };
    await mail.locator("a[href*='#activate=']").click();
    await arriving.locator("#activated").waitFor({ state: "visible", ...WAIT });
    const activated = await arriving.textContent("#activated");
    const addressAfter = arriving.url();
    await arriving.fill("#sign-in input[name=password]", newcomerPassword);
    await arriving.click("#sign-in button[type=submit]");
    await arriving.locator("#account").waitFor({ state: "visible", ...WAIT });
    const newcomerShown = await shown(arriving);

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
        twoFactor: {
          uriMatchesKey: uri === `otpauth://totp/Roster:${encodeURIComponent(email)}?secret=${secret}&issuer=Roster`,
          keyLength: secret.length,
          keyShownAfterConfirm,
          askedForCode,
          nameAfterCode,
          codeAskedAfterDisable,
        },
        export: {
          fileName: download.suggestedFilename(),
          userId: exported.profile?.user?.id,
          email: exported.profile?.user?.email,
          identityEmail: exported.identity?.email,
          poolSub: exported.identity?.pool?.attributes?.sub,
          statusHistoryKept: exported.profile?.statusHistory?.kept,
        },
        console: allowed.console,
      },
      deletion: {
        wrongPassword,
        stillShown,
        deleted,
        console: leaving.console,
      },
      activation: {
        wrongCode,
        resent,
        tooSoon,
        mailbox,
        activated,
        addressAfter,
        signedInName: newcomerShown.name,
        signedInStatus: newcomerShown.status,
        console: newcomer.console,
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
