// Deploys (`node deploy.cjs deploy`) or undeploys (`node deploy.cjs undeploy`) manifest.yml
// with aio-lib-runtime's manifest functions, to OW_APIHOST with OW_AUTH. Run from this
// directory: `function:` paths are relative to the working directory.
'use strict'
const { init, utils } = require('@adobe/aio-lib-runtime')

async function main (command) {
  const ow = await init({ apihost: process.env.OW_APIHOST, api_key: process.env.OW_AUTH })
  const { packages, deploymentPackages, deploymentTriggers } = utils.setPaths({ manifest: 'manifest.yml' })
  const log = line => console.log(line)
  if (command === 'deploy') {
    const entities = utils.processPackage(packages, deploymentPackages, deploymentTriggers, {}, false,
      { apihost: process.env.OW_APIHOST })
    await utils.deployPackage(entities, ow, log)
  } else if (command === 'undeploy') {
    await utils.undeployPackage(utils.processPackage(packages, {}, {}, {}, true), ow, log)
  } else {
    throw new Error(`unknown command ${command}: use deploy or undeploy`)
  }
  console.log(`${command} done`)
}

main(process.argv[2]).catch(e => {
  console.error(e)
  process.exit(1)
})
