// The fault-injecting proxy lives in bench/lib (make soak uses it too); tests import it from here.
export * from '../../bench/lib/fault-proxy.ts'
