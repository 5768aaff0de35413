// Greets `name`, or, behind a route with a path parameter, the last segment of the path.
function main (params) {
  if (params.__ow_path) {
    const name = params.__ow_path.split('/').pop()
    return { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: `Hello, ${name}!` }
  }
  return { greeting: `Hello, ${params.name || 'world'}!` }
}
