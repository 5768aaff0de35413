// The /whisk.system/alarms feeds through the npm client's `feeds` methods (spec §5.4, §5.5):
// the feed lifecycle, a 1-second cron firing a rule's action, and no more fires once deleted.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { createAction, ow, rejects, sleep, uniq } from './helpers.mjs'

const FEED = '/whisk.system/alarms/alarm'

async function countOf (name) {
  const { activations } = await ow.activations.list({ name, count: true })
  return activations
}

test('the alarms package is public and lists its feeds', async () => {
  const pkg = await ow.packages.get({ name: '/whisk.system/alarms' })
  assert.equal(pkg.publish, true)
  assert.deepEqual(pkg.feeds.map(f => f.name).sort(), ['alarm', 'interval', 'once'])
  for (const feed of pkg.feeds) {
    assert.ok(feed.annotations.some(a => a.key === 'feed' && a.value === true), feed.name)
  }
})

test('an alarm fires a rule\'s action every second, and stops when its feed is deleted', async () => {
  const action = uniq('tick')
  const trigger = uniq('every-second')
  const rule = uniq('tick-rule')
  await createAction(action, 'function main(p) { return { from: p.from, name: p.__ow_headers ? "headers" : "none" } }')
  await ow.triggers.create({ name: trigger, trigger: { annotations: [{ key: 'feed', value: FEED }] } })
  await ow.rules.create({ name: rule, trigger, action })

  const created = await ow.feeds.create({ name: FEED, trigger, params: { cron: '* * * * * *', trigger_payload: { from: 'alarm' } } })
  assert.equal(created.response.success, true)
  const read = await ow.feeds.get({ name: FEED, trigger })
  assert.equal(read.response.success, true)
  assert.equal(read.response.result.config.cron, '* * * * * *')
  assert.deepEqual(read.response.result.config.payload, { from: 'alarm' })
  assert.equal(read.response.result.status.active, true)

  await sleep(3300)
  const fired = await countOf(action)
  assert.ok(fired >= 2 && fired <= 4, `expected 2-4 fires in 3.3 s, got ${fired}`)
  const [latest] = await ow.activations.list({ name: action, limit: 1, docs: true })
  assert.deepEqual(latest.response.result, { from: 'alarm', name: 'headers' })
  const [fire] = await ow.activations.list({ name: trigger, limit: 1, docs: true })
  assert.deepEqual(fire.response.result, { from: 'alarm' })
  assert.equal(JSON.parse(fire.logs[0]).success, true)

  const updated = await ow.feeds.update({ name: FEED, trigger, params: { cron: '*/2 * * * * *' } })
  assert.equal(updated.response.success, true)
  assert.equal((await ow.feeds.get({ name: FEED, trigger })).response.result.config.cron, '*/2 * * * * *')

  const deleted = await ow.feeds.delete({ name: FEED, trigger })
  assert.equal(deleted.response.success, true)
  await sleep(1200) // a tick that was already on its way may still land
  const settled = await countOf(action)
  await sleep(2500)
  assert.equal(await countOf(action), settled, 'no fires after the feed was deleted')
  await ow.rules.delete({ name: rule })
  await ow.triggers.delete({ name: trigger })
})

test('bad schedules are refused with the alarm feed\'s texts', async () => {
  const trigger = uniq('bad-alarm')
  await ow.triggers.create({ name: trigger })
  const bad = await rejects(ow.feeds.create({ name: FEED, trigger, params: { cron: '61 * * * *' } }), 502)
  assert.equal(bad.error.response.result.error, "cron pattern '61 * * * *' is not valid")
  const missing = await rejects(ow.feeds.create({ name: FEED, trigger, params: {} }), 502)
  assert.equal(missing.error.response.result.error, 'alarms trigger feed is missing the cron parameter')
  const minutes = await rejects(ow.feeds.create({ name: '/whisk.system/alarms/interval', trigger, params: { minutes: 0 } }), 502)
  assert.equal(minutes.error.response.result.error, 'the minutes parameter must be an integer greater than zero')
  const once = await rejects(ow.feeds.create({ name: '/whisk.system/alarms/once', trigger, params: { date: Date.now() + 60000, deleteAfterFire: 'maybe' } }), 502)
  assert.equal(once.error.response.result.error, 'deleteAfterFire parameter must be one of [false, true, rules].')
  await ow.triggers.delete({ name: trigger })
})

test('a once alarm with deleteAfterFire fires one time and removes its trigger', async () => {
  const action = uniq('once-action')
  const trigger = uniq('once')
  await createAction(action, 'function main(p) { return { once: true } }')
  await ow.triggers.create({ name: trigger })
  await ow.rules.create({ name: uniq('once-rule'), trigger, action })
  const when = new Date(Date.now() + 1500).toISOString()
  const created = await ow.feeds.create({ name: '/whisk.system/alarms/once', trigger, params: { date: when, deleteAfterFire: 'true' } })
  assert.equal(created.response.success, true)
  await sleep(3000)
  assert.equal(await countOf(action), 1)
  await rejects(ow.triggers.get({ name: trigger }), 404)
})
