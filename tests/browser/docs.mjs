// node docs.mjs CHROMIUM ASSETS_URL API_URL...
// Opens each API's /docs page and reports every operation the page lists, the page's title,
// any request to an origin other than the API's own and the assets bucket's (Swagger UI's
// script and stylesheet), and any console error.
import { launch, report } from "./browser.mjs";

const [executablePath, assets, ...apis] = process.argv.slice(2);
const assetsOrigin = new URL(assets).origin;

report(async () => {
  const browser = await launch(executablePath);
  try {
    const pages = [];
    for (const api of apis) {
      const page = await browser.newPage();
      const origin = new URL(api).origin;
      const foreign = [];
      const errors = [];
      page.on("request", (request) => {
        const url = request.url();
        const from = url.startsWith("data:") ? origin : new URL(url).origin;
        if (from !== origin && from !== assetsOrigin) foreign.push(url);
      });
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on("pageerror", (error) => errors.push(String(error)));
      await page.goto(`${api}/docs`);
      await page.locator(".opblock").first().waitFor({ timeout: 30_000 });
      const operations = await page.$$eval(".opblock", (blocks) =>
        blocks.map((block) => [
          block.querySelector(".opblock-summary-method")?.textContent.trim(),
          block.querySelector(".opblock-summary-path")?.getAttribute("data-path"),
        ]),
      );
      // Where "Try it out" sends its calls.
      const servers = await page.$$eval(".servers option", (options) =>
        options.map((option) => option.value),
      );
      pages.push({ api, title: await page.title(), operations, servers, foreign, errors });
      await page.close();
    }
    return pages;
  } finally {
    await browser.close();
  }
});
