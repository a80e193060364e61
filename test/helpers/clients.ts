// The AWS clients of a configuration's first source, as run.ts builds them for each source.

import { createClients, type AwsClients } from '../../src/aws/clients.ts'
import type { Config } from '../../src/config.ts'

export function clientsOf(config: Config): AwsClients {
  return createClients(config.sources[0], config.maxObjectsInFlight, config.proxy)
}
