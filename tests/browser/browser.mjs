// Shared by the browser scripts: Debian's Chromium, headless, driven by playwright-core.
import { chromium } from "playwright-core";

export async function launch(executablePath) {
  return chromium.launch({
    executablePath,
    headless: true,
    // Chromium's sandbox refuses to run as root, which CI machines are.
    args: process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : [],
  });
}

/// Runs `main`, printing its report as JSON on stdout; a failure exits 1 with the error.
export async function report(main) {
  try {
    console.log(JSON.stringify(await main(), null, 2));
  } catch (error) {
    console.error(error && error.stack ? error.stack : String(error));
    process.exit(1);
  }
}
