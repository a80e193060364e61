// The fault-injecting proxy is part of the emulator harness (make soak uses it too); tests import it from here.
export * from '../../src/emulator/fault-proxy.ts'
