'use strict'
// The functions of the test service. `greet` answers plain invokes with JSON and, behind an
// http event with a path parameter, the web request with text (its name is the path's end).
const { greeting } = require('./lib/greet')

exports.greet = (params) => {
  if (params.__ow_method && params.__ow_path) {
    const name = params.__ow_path.split('/').pop()
    return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: greeting(name) }
  }
  return { greeting: greeting(params.name || 'world') }
}

exports.shout = (params) => ({ greeting: String(params.greeting).toUpperCase() })

exports.tick = () => ({ ticked: true })
