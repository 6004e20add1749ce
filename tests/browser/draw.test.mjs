// The draw-a-digit page of `mitbadak serve` in headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core; no browser is downloaded).
//
// It trains a short model, starts `mitbadak serve` on a free port, draws on the page with the
// mouse and with a finger, then paints MNIST test digits onto the canvas (the 280x280 PNGs of
// `mitbadak show`) and checks that the page shows what `mitbadak predict` prints for the same
// PNG: the same class and the same probabilities to the printed 4 decimals, and the 28x28
// input the server made. On a phone's screen (390x844) it checks that the canvas, the answer
// and the probabilities are all on the first screen and that the page scrolls everywhere but
// on the canvas. It saves screenshots of the page, desktop and phone, to target/browser/
// (MITBADAK_SCREENSHOT=docs/serve.png puts them in docs/ instead: serve.png, serve-phone.png).
//
// Needs the release binary (`cargo build --release`, or MITBADAK_BIN), then:
//   cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci && node --test draw.test.mjs

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.MITBADAK_BIN ?? join(ROOT, 'target/release/mitbadak');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = resolve(process.env.MITBADAK_SCREENSHOT ?? join(ROOT, 'target/browser/serve.png'));
const PHONE_SCREENSHOT = SCREENSHOT.replace(/(\.png)?$/, '-phone.png');
const PHONE = { width: 390, height: 844 };
// MNIST test images 0 to 4 and 8: labels 7, 2, 1, 0, 4 and 5 (the last one a hard 5)
const DIGITS = [0, 1, 2, 3, 4, 8];
// the digit on the screenshot
const SCREENSHOT_DIGIT = 0;
// without the background-networking flags Chromium's own connections are refused on a closed
// network, and it can hang on them
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let work;
let model;
let server;
let url;
let context;
let page;

function mitbadak(...args) {
  return execFileSync(BIN, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `mitbadak predict --top 10`: the class and every class's probability as printed. */
function predictWithCli(png) {
  const out = mitbadak('predict', '--model', model, png, '--top', '10');
  const predicted = out.match(/^predicted: (\d+)$/m);
  assert.ok(predicted, `no "predicted:" line in:\n${out}`);
  const printed = {};
  for (const [, k, p] of out.matchAll(/^ {2}(\d+) {2}(\d\.\d{4})$/gm)) printed[k] = p;
  assert.equal(Object.keys(printed).length, 10, `ten classes expected in:\n${out}`);
  return { class: predicted[1], printed };
}

/** Starts `mitbadak serve` on a free port; resolves to the process and the page's address. */
function startServer() {
  const child = spawn(BIN, ['serve', '--model', model, '--port', '0'], { cwd: ROOT });
  return new Promise((resolveStart, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`serve printed no address in 30 s:\n${output}`)), 30_000);
    const read = (chunk) => {
      output += chunk;
      const address = output.match(/http:\/\/\S+\//);
      if (address) {
        clearTimeout(timer);
        resolveStart({ child, url: address[0] });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${output}`)));
  });
}

/** Waits until the page shows the prediction for its latest drawing. */
async function waitForDisplay(on = page) {
  await on.waitForFunction(
    () => document.body.dataset.version !== '0' && document.body.dataset.shown === document.body.dataset.version,
    null,
    { timeout: 15_000 },
  );
}

/** What the page shows: the class, the probabilities' text, and the 28x28 input's grey levels. */
function readDisplay() {
  return page.evaluate(() => {
    const view = document.getElementById('input');
    const rgba = view.getContext('2d').getImageData(0, 0, view.width, view.height).data;
    return {
      class: document.getElementById('predicted').textContent,
      printed: Object.fromEntries(
        [...document.querySelectorAll('#bars li')].map((row) => [row.dataset.class, row.querySelector('.value').textContent]),
      ),
      input: Array.from({ length: rgba.length / 4 }, (_, i) => rgba[i * 4]),
      status: document.getElementById('status').textContent,
    };
  });
}

/** Paints a PNG onto the drawing canvas, as a stroke would, and waits for the page to update. */
async function paint(png, on = page) {
  const dataUrl = `data:image/png;base64,${readFileSync(png).toString('base64')}`;
  await on.evaluate(async (source) => {
    const picture = new Image();
    picture.src = source;
    await picture.decode();
    const pad = document.getElementById('pad');
    pad.getContext('2d').drawImage(picture, 0, 0);
    pad.dispatchEvent(new Event('drawn'));
  }, dataUrl);
  await waitForDisplay(on);
}

async function padBox() {
  const box = await page.locator('#pad').boundingBox();
  assert.ok(box, 'the drawing canvas is on the page');
  return box;
}

before(async () => {
  assert.ok(existsSync(BIN), `${BIN} is missing: run \`cargo build --release\` first, or set MITBADAK_BIN`);
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (or set CHROMIUM)`);
  work = mkdtempSync(join(tmpdir(), 'mitbadak-browser-'));
  mitbadak('train', '--iters', '3000', '--out', join(work, 'run'));
  model = join(work, 'run', 'model.safetensors');
  ({ child: server, url } = await startServer());
  context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1000, height: 760 },
    hasTouch: true,
  });
  page = context.pages()[0] ?? (await context.newPage());
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('model-facts').textContent.includes('TwoLayerNet'));
});

after(async () => {
  await context?.close();
  server?.kill();
  if (work) rmSync(work, { recursive: true, force: true });
});

test('the page describes the model and shows its curves, from the server alone', async () => {
  const facts = await page.locator('#model-facts').textContent();
  assert.match(facts, /TwoLayerNet 784-50-10 \(ReLU\)/);
  assert.match(facts, /test accuracy\d+\.\d\d%/);
  assert.match(facts, /3000 iterations, SGD lr 0\.1, batch 100, seed 0/);
  const curves = await page.locator('#curves img').evaluateAll((images) => images.map((i) => [i.alt, i.naturalWidth]));
  assert.deepEqual(curves, [['accuracy per epoch: train solid, test dashed', 800], ['loss per iteration', 800]]);
});

test('a stroke of the mouse is read as it is drawn, and Clear empties the page', async () => {
  const box = await padBox();
  await page.mouse.move(box.x + 140, box.y + 50);
  await page.mouse.down();
  await page.mouse.move(box.x + 140, box.y + 230, { steps: 12 });
  await page.mouse.up();
  await waitForDisplay();
  const shown = await readDisplay();
  assert.equal(shown.status, '');
  assert.equal(shown.class, '1', `a vertical stroke should read as 1: ${JSON.stringify(shown.printed)}`);
  assert.ok(shown.input.filter((level) => level > 0).length > 20, 'the 28x28 input shows the stroke');

  await page.click('#clear');
  const cleared = await readDisplay();
  assert.equal(cleared.class, '–');
  assert.ok(cleared.input.every((level) => level === 0), 'the 28x28 input is empty again');
  assert.ok(Object.values(cleared.printed).every((text) => text === '–'));
});

test('a finger draws too (touch events)', async () => {
  const box = await padBox();
  const cdp = await context.newCDPSession(page);
  const touch = (type, points) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points });
  // a 7: the bar, then the stem
  const path = [[80, 60], [140, 60], [200, 60], [185, 110], [165, 160], [150, 210], [140, 240]];
  const at = ([x, y]) => [{ x: box.x + x, y: box.y + y }];
  const before = Number(await page.evaluate(() => document.body.dataset.version));
  await touch('touchStart', at(path[0]));
  for (const point of path.slice(1)) await touch('touchMove', at(point));
  await touch('touchEnd', []);
  await waitForDisplay();
  const version = Number(await page.evaluate(() => document.body.dataset.version));
  assert.ok(version > before + path.length - 2, `each touch move is a stroke: version ${before} -> ${version}`);
  const shown = await readDisplay();
  assert.equal(shown.class, '7', `the finger's 7: ${JSON.stringify(shown.printed)}`);
  await page.click('#clear');
});

test('a canvas with nothing that stands out shows "no digit found" and no probabilities', async () => {
  await page.evaluate(() => {
    const pad = document.getElementById('pad');
    const pen = pad.getContext('2d');
    pen.fillStyle = '#777';
    pen.fillRect(0, 0, pad.width, pad.height);
    pad.dispatchEvent(new Event('drawn'));
  });
  await waitForDisplay();
  const shown = await readDisplay();
  assert.equal(shown.status, '');
  assert.equal(shown.class, 'no digit found');
  assert.ok(Object.values(shown.printed).every((text) => text === '–'), JSON.stringify(shown.printed));
  await page.click('#clear');
});

for (const index of DIGITS) {
  test(`MNIST test image ${index}: the page shows what \`mitbadak predict\` prints`, async () => {
    const png = join(work, `test-${index}.png`);
    mitbadak('show', '--index', String(index), '--set', 'test', '--out', png);
    const cli = predictWithCli(png);
    await paint(png);
    const shown = await readDisplay();
    console.log(`test image ${index}: page ${shown.class} ${JSON.stringify(shown.printed)}`);
    assert.equal(shown.status, '');
    assert.equal(shown.class, cli.class, 'the predicted class');
    assert.deepEqual(shown.printed, cli.printed, 'the probabilities, as printed');

    const answer = await (await fetch(`${url}api/predict`, {
      method: 'POST',
      headers: { 'Content-Type': 'image/png' },
      body: readFileSync(png),
    })).json();
    assert.deepEqual(shown.input, answer.input.map((v) => Math.round(v * 255)), 'the 28x28 input');

    if (index === SCREENSHOT_DIGIT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });
}

test('on a phone (390x844) the canvas, the answer and the probabilities fit the first screen', async () => {
  const phone = await context.newPage();
  try {
    await phone.setViewportSize(PHONE);
    await phone.goto(url);
    await phone.waitForFunction(() => document.getElementById('model-facts').textContent.includes('TwoLayerNet'));
    const png = join(work, 'test-0.png');
    mitbadak('show', '--index', '0', '--set', 'test', '--out', png);
    await paint(png, phone);
    assert.equal(await phone.locator('#predicted').textContent(), '7');

    const outside = await phone.evaluate(() => {
      const shown = ['pad', 'clear', 'input', 'predicted'].map((id) => document.getElementById(id));
      return [...shown, ...document.querySelectorAll('#bars li')]
        .map((element) => ({ what: element.id || `class ${element.dataset.class}`, box: element.getBoundingClientRect() }))
        .filter(({ box }) => box.left < 0 || box.top < 0 || box.right > innerWidth || box.bottom > innerHeight)
        .map(({ what, box }) => `${what} at (${box.left}, ${box.top})-(${box.right}, ${box.bottom})`);
    });
    assert.deepEqual(outside, [], 'everything of the answer within the first 390x844');
    const width = await phone.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= PHONE.width, `the page is ${width} px wide, wider than the phone`);
    // the figures at 600 of their 800 px, their text readable (scrolled sideways in their box)
    const curves = await phone.locator('#curves img').evaluateAll((images) => images.map((i) => i.getBoundingClientRect().width));
    assert.ok(curves.length === 2 && curves.every((width) => width >= 600), `the figures' widths: ${curves}`);
    await phone.screenshot({ path: PHONE_SCREENSHOT });

    // a finger's swipe scrolls the page, except on the canvas, where it draws
    const cdp = await context.newCDPSession(phone);
    const swipe = async (selector) => {
      await phone.evaluate(() => window.scrollTo(0, 0));
      const box = await phone.locator(selector).boundingBox();
      const x = box.x + box.width / 2;
      const touch = (type, y) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: y === null ? [] : [{ x, y }] });
      await touch('touchStart', box.y + box.height / 2);
      for (let step = 1; step <= 10; step++) await touch('touchMove', box.y + box.height / 2 - 20 * step);
      await touch('touchEnd', null);
      await phone.waitForTimeout(300);
      return phone.evaluate(() => window.scrollY);
    };
    assert.ok((await swipe('.probabilities')) > 0, 'a swipe on the probabilities scrolls the page');
    assert.equal(await swipe('#pad'), 0, 'a swipe on the canvas draws and does not scroll');
  } finally {
    await phone.close();
  }
});
