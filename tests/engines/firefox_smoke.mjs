// Firefox smoke run, driven over WebDriver BiDi by puppeteer-core (tests/engines/package.json):
// open the site, wait until it is ready, cut out each photo given, and print one JSON line with
// what happened: the status line, each job's state and text, each result PNG (base64), every
// request that left the origin, and the page's errors. tests/e2e/test_firefox.py asserts on it.
//
// Usage: node tests/engines/firefox_smoke.mjs SITE_URL FIREFOX PHOTO...
import fs from 'fs';
import puppeteer from 'puppeteer-core';

const JOB_RESULT = fs.readFileSync(new URL('./job_result.js', import.meta.url), 'utf8');

const [url, executablePath, ...photos] = process.argv.slice(2);
const browser = await puppeteer.launch({
  browser: 'firefox', executablePath, headless: true,
  extraPrefsFirefox: { 'dom.webgpu.enabled': false },
});
const out = { requests: [], foreign: [], errors: [], jobs: [] };
try {
  const page = await browser.newPage();
  page.on('request', (r) => {
    out.requests.push(r.url());
    if (!r.url().startsWith(url) && !/^(blob|data):/.test(r.url())) out.foreign.push(r.url());
  });
  page.on('pageerror', (e) => out.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push(m.text()); });
  await page.goto(`${url}/`);
  await page.waitForFunction(() => ['ready', 'error'].includes(document.querySelector('#status')?.className),
    { timeout: 300_000, polling: 500 });
  out.status = await page.$eval('#status-text', (e) => e.textContent);
  out.isolated = await page.evaluate(() => self.crossOriginIsolated);
  for (const [i, photo] of photos.entries()) {
    const input = await page.$('#file-input');
    await input.uploadFile(photo);
    const result = `(async (n) => { ${JOB_RESULT} })(${i})`;
    out.jobs.push(await page.waitForFunction(result, { timeout: 300_000, polling: 500 }).then((h) => h.jsonValue()));
  }
  out.statusAfter = await page.$eval('#status-text', (e) => e.textContent);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
