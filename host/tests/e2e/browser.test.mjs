// Web actions in a real browser (spec §4): Debian's headless Chromium, driven by `playwright-core`
// (no bundled browser), loads a form served by one web action (`.html`), fills it in and submits
// it; a second web action receives the form-urlencoded POST as parameters and answers an HTML page
// (`.http`), whose content the test checks. Chromium comes from apt (`.ci/run` installs it); when it
// is missing this test fails and says how to install it.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import { API_HOST, GUEST, raw, uniq } from './helpers.mjs'

const CHROMIUM = '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]

/** A 1×1 PNG served by a third web action, so the page also loads a binary response. */
const PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=='

/** Creates a JS action exported as `wsk action create --web true` does. */
async function webAction (name, code) {
  const res = await raw('PUT', `/api/v1/namespaces/_/actions/${name}?overwrite=true`, {
    body: {
      exec: { kind: 'nodejs:default', code },
      annotations: [
        { key: 'web-export', value: true },
        { key: 'raw-http', value: false },
        { key: 'final', value: true }
      ]
    }
  })
  assert.equal(res.status, 200, `creating ${name}: ${res.text}`)
}

/** The form page (`.html`): posts `name` and `color` to the answer action. */
function formPage (answer, pixel) {
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>shoal guest book</title></head>
<body>
<h1>Sign the guest book</h1>
<img id="pixel" alt="pixel" width="20" height="20" src="/api/v1/web/${GUEST}/default/${pixel}">
<form id="book" method="POST" action="/api/v1/web/${GUEST}/default/${answer}/signed">
  <label>Name <input id="name" name="name" required></label>
  <label>Colour <select id="color" name="color">
    <option value="red">red</option><option value="teal">teal</option>
  </select></label>
  <button id="send" type="submit">Sign</button>
</form>
</body></html>`
  return `function main() { return { html: ${JSON.stringify(html)} } }`
}

/** The answer (`.http`): form fields arrive as parameters; shows them, escaped. */
const ANSWER = `function main(p) {
  const esc = s => String(s ?? '').replace(/[&<>"']/g, c => '&#' + c.charCodeAt(0) + ';')
  const body = '<!doctype html><html><head><meta charset="utf-8"><title>Signed</title></head><body>' +
    '<h1 id="greeting">Thank you, ' + esc(p.name) + '!</h1>' +
    '<p>Favourite colour: <span id="color">' + esc(p.color) + '</span></p>' +
    '<p>Method <span id="method">' + esc(p.__ow_method) + '</span>, path <span id="path">' + esc(p.__ow_path) +
    '</span>, type <span id="ctype">' + esc(p.__ow_headers['content-type']) + '</span></p>' +
    '</body></html>'
  return { statusCode: 200, headers: { 'content-type': 'text/html; charset=utf-8' }, body }
}`

test('headless Chromium fills in and submits a form served by web actions', async (t) => {
  assert.ok(existsSync(CHROMIUM),
    `${CHROMIUM} is missing: install Debian's Chromium with ` +
    '`apt-get update && apt-get install -y --no-install-recommends chromium` (as .ci/run does)')

  const page = uniq('browser-form')
  const answer = uniq('browser-answer')
  const pixel = uniq('browser-pixel')
  await webAction(pixel, `function main() { return { headers: { 'content-type': 'image/png' }, body: '${PNG_B64}' } }`)
  await webAction(answer, ANSWER)
  await webAction(page, formPage(answer, pixel))

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  t.after(() => browser.close())
  const tab = await browser.newPage()

  const loaded = await tab.goto(`${API_HOST}/api/v1/web/${GUEST}/default/${page}.html`)
  assert.equal(loaded.status(), 200)
  assert.equal(loaded.headers()['content-type'], 'text/html; charset=UTF-8')
  assert.equal(await tab.title(), 'shoal guest book')
  assert.equal(await tab.textContent('h1'), 'Sign the guest book')
  // the PNG served by the third action decoded into a real image
  await tab.waitForFunction(() => document.getElementById('pixel').complete)
  assert.equal(await tab.$eval('#pixel', img => img.naturalWidth), 1)

  const visitor = 'Ada Lovelace & <Babbage>'
  await tab.fill('#name', visitor)
  await tab.selectOption('#color', 'teal')
  const [answered] = await Promise.all([
    tab.waitForNavigation(),
    tab.click('#send')
  ])
  assert.equal(answered.status(), 200)
  assert.equal(answered.request().method(), 'POST')
  assert.equal(tab.url(), `${API_HOST}/api/v1/web/${GUEST}/default/${answer}/signed`)
  assert.equal(await tab.title(), 'Signed')
  assert.equal(await tab.textContent('#greeting'), `Thank you, ${visitor}!`)
  assert.equal(await tab.textContent('#color'), 'teal')
  assert.equal(await tab.textContent('#method'), 'post')
  assert.equal(await tab.textContent('#path'), '/signed')
  assert.equal(await tab.textContent('#ctype'), 'application/x-www-form-urlencoded')
})
